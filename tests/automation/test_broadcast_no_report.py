"""Broadcast progress counts the texts that got no delivery report in time, apart from "sent"."""

from datetime import timedelta

import pytest
from django.urls import reverse

from abah.automation import broadcasts
from abah.sms import expiry
from abah.sms.daemon import Daemon
from abah.sms.models import Message

from .conftest import make_grant, make_institution
from .test_broadcasts import IMMEDIATE, TEXT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = IMMEDIATE


def test_progress_counts_no_report_apart(petugas, admin_user, admin_client, django_capture_on_commit_callbacks):
    for i in range(4):
        make_grant(make_institution(f"Lembaga {i}", phone=f"08123090010{i}", person=f"Bpk. Kontak {i}"),
                   petugas=petugas)
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = broadcasts.broadcast_create(by=admin_user, filters={}, text=TEXT, isi="rapat koordinasi")
    daemon = Daemon(batch_size=10)
    daemon.send(daemon.claim())
    sent = list(Message.objects.filter(kind="broadcast", status=Message.Status.SENT).order_by("id"))
    assert len(sent) == 4
    Message.objects.filter(pk__in=[m.pk for m in sent[2:]]).update(sent_at=sent[0].sent_at - timedelta(hours=49))
    assert expiry.expire_unreported() == 2
    progress = broadcasts.progress(broadcast)
    assert (progress["created"], progress["sent"], progress["no_report"]) == (4, 2, 2)
    page = admin_client.get(reverse("automation:broadcast_detail", args=[broadcast.pk])).content.decode()
    assert 'data-testid="progress-no-report">2<' in page and "Tidak ada laporan" in page
