"""Live appointment page (issue 14): the invitees' delivery marks update by themselves.

Before, the invitees polled only while a text was pending (queued, sending, sent): a page opened before Proses
(by another clerk, or in another tab), or a "no report" settled by a late receipt, never changed; and each poll
re-rendered the whole list. Now the list polls while the appointment stands and the server answers 204 after
one query on the invitations when no mark changed."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from abah.sms.models import Message

from .conftest import invite, run_worker

pytestmark = pytest.mark.django_db
POLLED = {"HX-Request": "true", "HX-Target": "nphd-invitees"}
POLL = re.compile(r'id="nphd-invitees" hx-get="([^"]+)" hx-trigger="every (\d+)s, abah-poll"')


def _poller(body: str) -> str:
    match = POLL.search(body)
    assert match, "the invitees do not poll"
    assert 3 <= int(match.group(2)) <= 5
    return match.group(1)


def test_invitees_poll_before_proses_and_show_the_marks_it_brings(grant_a, petugas, petugas_client, future,
                                                                   locmem_gateway):
    appointment = invite(grant_a, petugas, future).appointment
    detail = reverse("nphd:appointment_detail", args=[appointment.pk])
    url = _poller(petugas_client.get(detail).content.decode())  # nothing sent yet: it polls all the same
    petugas_client.get(detail)  # a warm session, as in a browser that polls
    with CaptureQueriesContext(connection) as queries:
        response = petugas_client.get(url, headers=POLLED)
    assert response.status_code == 204 and response.content == b""
    own = [q["sql"] for q in queries.captured_queries if "nphd_" in q["sql"] or "sms_" in q["sql"]]
    assert len(own) <= 2, own  # the appointment (with its access check) and the fingerprint

    # Another clerk processes the appointment: the open page learns of the text, then of its report.
    Client().force_login(petugas)
    admin = Client()
    from tests.conftest import make_user

    admin.force_login(make_user("admin2", role="admin"))
    admin.post(reverse("nphd:appointment_process", args=[appointment.pk]), headers={"HX-Request": "true"})
    body = petugas_client.get(url, headers=POLLED).content.decode()
    assert 'data-testid="mark-queued"' in body and "<html" not in body
    url = _poller(body)
    run_worker()
    locmem_gateway.deliver(locmem_gateway.outbox[0])
    run_worker()
    body = petugas_client.get(url, headers=POLLED).content.decode()
    assert 'data-testid="mark-delivered"' in body
    url = _poller(body)  # delivered, nothing pending: still polling (a resend may follow)
    assert petugas_client.get(url, headers=POLLED).status_code == 204

    # Late: a "no report" later settled by a receipt changes the mark too.
    Message.objects.filter(kind="invitation").update(status="failed", error_code="absent_subscriber")
    body = petugas_client.get(url, headers=POLLED).content.decode()
    assert 'data-testid="mark-failed"' in body


def test_invitees_poll_keeps_the_access_rule(grant_a, petugas, petugas2, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    url = _poller(petugas_client.get(reverse("nphd:appointment_detail", args=[appointment.pk])).content.decode())
    other = Client()
    other.force_login(petugas2)
    assert other.get(url, headers=POLLED).status_code == 403  # not their appointment, even with the fingerprint
