"""Live screens (issue 14): the open Pesan dialog asks every few seconds whether its thread changed.

Why replies did not appear in an open dialog (waited 40 s): the thread polled only while one of its own outgoing
messages was pending (``{% if pending %}hx-trigger="every 2s"``). Once the last text was delivered, an inbound
reply, a text queued elsewhere (an NPHD invitation) or a late report changed nothing on screen until the dialog
was opened again. Now it always polls, and the poll answers 204 after one small query when nothing changed.
"""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from abah.sms import services
from abah.sms.models import Message

from .conftest import run_worker

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
POLL = re.compile(r'hx-get="([^"]*/utas/\?since=(\d*)&amp;v=([0-9a-f]+))" hx-trigger="every (\d+)s, abah-poll"')


def _poller(body: str) -> dict:
    match = POLL.search(body)
    assert match, "the thread has no poller"
    return {"since": match.group(2), "v": match.group(3), "every": int(match.group(4))}


def _poll(client, thread, poller):
    return client.get(reverse("sms:conversation_thread", args=[thread.pk]),
                      {"since": poller["since"], "v": poller["v"]}, **HX)


def _deliver_all(locmem):
    run_worker()
    for sms in locmem.outbox:
        locmem.deliver(sms)
    run_worker()


def test_dialog_polls_with_nothing_pending(petugas_client, thread, locmem_gateway):
    services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    _deliver_all(locmem_gateway)
    assert not Message.objects.pending().exists()
    body = petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk]), **HX).content.decode()
    poller = _poller(body)
    assert 3 <= poller["every"] <= 5 and 'data-live="modal"' in body


def test_poll_is_204_when_unchanged_and_costs_one_query(petugas_client, thread, locmem_gateway):
    services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    services.receive_message(number="081230900095", text="Siap hadir")
    poller = _poller(petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk]), **HX).content.decode())
    petugas_client.get("/")  # the session is warm, as in a browser that polls
    with CaptureQueriesContext(connection) as queries:
        response = _poll(petugas_client, thread, poller)
    assert response.status_code == 204 and response.content == b""
    own = [q["sql"] for q in queries.captured_queries if "sms_" in q["sql"]]
    assert len(own) == 1, own  # the session and the user are read by Django's middleware; the poll adds one


def test_poll_returns_new_inbound_new_outbound_and_changed_marks(petugas_client, thread, locmem_gateway):
    first = services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    _deliver_all(locmem_gateway)
    locmem_gateway.reset()
    poller = _poller(petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk]), **HX).content.decode())

    services.receive_message(number="081230900095", text="Siap hadir, terima kasih")
    response = _poll(petugas_client, thread, poller)
    body = response.content.decode()
    assert response.status_code == 200 and "Siap hadir, terima kasih" in body and "Undangan NPHD" in body
    poller = _poller(body)
    assert poller["since"] == str(first.pk)
    assert _poll(petugas_client, thread, poller).status_code == 204

    queued = services.queue_message(to="081230900095", text="Pencairan tahap 1", kind="disbursement",
                                    conversation=thread)
    body = _poll(petugas_client, thread, poller).content.decode()
    assert f'id="sms-m{queued.pk}"' in body and 'data-status="queued"' in body
    poller = _poller(body)
    run_worker()  # accepted by the gateway: SENT
    body = _poll(petugas_client, thread, poller).content.decode()
    assert 'data-status="sent"' in body
    poller = _poller(body)
    locmem_gateway.deliver(locmem_gateway.outbox[0], delivered=False, error_code="absent_subscriber",
                           error_reason="Absent subscriber")
    run_worker()
    body = _poll(petugas_client, thread, poller).content.decode()
    assert 'data-testid="mark-failed"' in body and "Nomor tidak aktif" in body
    assert _poll(petugas_client, thread, _poller(body)).status_code == 204


def test_poll_never_shows_or_betrays_another_users_private_message(thread, petugas, petugas2, locmem_gateway):
    own, other = Client(), Client()
    own.force_login(petugas)
    other.force_login(petugas2)
    services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    dialog = reverse("sms:conversation_dialog", args=[thread.pk])
    mine, theirs = _poller(own.get(dialog, **HX).content.decode()), _poller(other.get(dialog, **HX).content.decode())

    private = services.queue_message(to="081230900095", text="Notifikasi rahasia 4711", kind="notification",
                                     conversation=thread)
    Message.objects.filter(pk=private.pk).update(addressee=petugas)
    # The other user's poll does not even change: nothing they may see is new.
    assert _poll(other, thread, theirs).status_code == 204
    body = _poll(own, thread, mine).content.decode()
    assert "Notifikasi rahasia 4711" in body

    services.receive_message(number="081230900095", text="Balasan lembaga")
    body = _poll(other, thread, theirs).content.decode()
    assert "Balasan lembaga" in body and "Notifikasi rahasia" not in body and f"sms-m{private.pk}" not in body
    assert _poll(other, thread, _poller(body)).status_code == 204


# ---------------------------------------------------------------- UCP > Pesan

LIST_POLL = re.compile(r'id="sms-live" class="d-none" hx-get="([^"]+)" hx-trigger="every (\d+)s, abah-poll"')


def _list_poller(body: str) -> str:
    match = LIST_POLL.search(body)
    assert match, "UCP > Pesan has no poller"
    assert 3 <= int(match.group(2)) <= 5
    return reverse("sms:message_list") + match.group(1).replace("&amp;", "&")


def _list_poll(client, url, watch=()):
    return client.get(url + ("&watch=" + ",".join(f"{m.pk}.{m.status}" for m in watch) if watch else ""), **HX)


def test_list_poll_is_204_when_unchanged_in_two_queries(petugas_client, thread, locmem_gateway):
    sent = services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    run_worker()
    sent.refresh_from_db()
    assert sent.status == "sent"
    url = _list_poller(petugas_client.get(reverse("sms:message_list")).content.decode())
    with CaptureQueriesContext(connection) as queries:
        response = _list_poll(petugas_client, url, [sent])
    assert response.status_code == 204 and response.content == b""
    own = [q["sql"] for q in queries.captured_queries if "sms_" in q["sql"]]
    assert len(own) <= 2, own


def test_list_poll_adds_new_rows_within_the_filters_and_changes_marks(petugas_client, thread, locmem_gateway):
    sent = services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    run_worker()
    sent.refresh_from_db()
    everything = _list_poller(petugas_client.get(reverse("sms:message_list")).content.decode())
    outgoing = _list_poller(petugas_client.get(reverse("sms:message_list"), {"direction": "out"}).content.decode())
    assert "direction=out" in outgoing

    reply = services.receive_message(number="081230900095", text="Siap hadir, terima kasih")
    body = _list_poll(petugas_client, everything, [sent]).content.decode()
    assert 'hx-swap-oob="afterbegin:#sms-rows"' in body and f'id="sms-r{reply.pk}"' in body
    assert "Siap hadir, terima kasih" in body and f'id="sms-r{sent.pk}"' not in body
    assert f"after={reply.pk}" in _list_poller(body)  # the next poll asks for what is newer still
    assert 'id="sms-total" data-testid="sms-total" hx-swap-oob="true">Terdapat 2 pesan</p>' in body  # was 1
    assert "total=2" in _list_poller(body)
    assert _list_poll(petugas_client, _list_poller(body), [sent]).status_code == 204
    assert _list_poll(petugas_client, outgoing, [sent]).status_code == 204  # the filter holds: no inbound row

    locmem_gateway.deliver(locmem_gateway.outbox[0])
    run_worker()
    body = _list_poll(petugas_client, outgoing, [sent]).content.decode()
    assert f'id="sms-r{sent.pk}" data-live-id="{sent.pk}" hx-swap-oob="true"' in body
    assert 'data-status="delivered"' in body and "bi-check-circle-fill" in body
    assert "afterbegin" not in body


def test_list_poll_keeps_private_messages_private(thread, petugas, petugas2, locmem_gateway):
    own, other = Client(), Client()
    own.force_login(petugas)
    other.force_login(petugas2)
    services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    mine = _list_poller(own.get(reverse("sms:message_list")).content.decode())
    theirs = _list_poller(other.get(reverse("sms:message_list")).content.decode())
    private = services.queue_message(to="081230900095", text="Notifikasi rahasia 4711", kind="notification",
                                     conversation=thread)
    Message.objects.filter(pk=private.pk).update(addressee=petugas)
    assert _list_poll(other, theirs).status_code == 204
    # Asking about someone else's message by id does not tell its status either.
    private.status = "sending"
    assert _list_poll(other, theirs, [private]).status_code == 204
    assert "Notifikasi rahasia 4711" in _list_poll(own, mine).content.decode()


@pytest.mark.parametrize("watch", ["x.y", "1.sent,1.sent,abc", "99999999999999999999999.sent", "1.\x00", "²³.sent",
                                   ",".join(f"{i}.queued" for i in range(1, 5000)), "-5.sent", "1.unknown"])
def test_list_poll_shrugs_off_hostile_watch_and_after(petugas_client, thread, watch):
    services.queue_message(to="081230900095", text="Undangan NPHD", kind="invitation", conversation=thread)
    for after in ("", "x", "-1", "99999999999999999999999", "1"):
        response = petugas_client.get(reverse("sms:message_list"), {"partial": "live", "after": after,
                                                                    "watch": watch}, **HX)
        assert response.status_code in (200, 204), (after, watch)
        assert "<html" not in response.content.decode()  # the live partial, never the whole page
