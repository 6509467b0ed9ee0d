"""A broadcast's badge follows its texts (Antre → Terkirim → Selesai, with the counts), and at night its progress
and notification say when the send window lets the texts go."""

from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from abah.automation import broadcasts
from abah.core.formatting import WIB
from abah.notifications.models import Notification
from abah.sms.backends import locmem
from abah.sms.models import Message

from .conftest import make_grant, make_institution, run_worker

pytestmark = pytest.mark.django_db
TEXT = "Yth. Bpk/Ibu {nama}, {isi}. Biro Kesra Setdaprov Jatim"


@pytest.fixture
def two_institutions(petugas):
    for n, phone in enumerate(("081230900101", "081230900102")):
        make_grant(make_institution(f"Yayasan Contoh {n}", phone=phone), petugas=petugas)


def _broadcast(admin_user):
    broadcast = broadcasts.broadcast_create(by=admin_user, filters={}, text=TEXT, isi="rapat koordinasi")
    assert broadcasts.broadcast_run(broadcast_id=broadcast.pk) == "queued"
    broadcast.refresh_from_db()
    return broadcast


def test_the_badge_follows_the_texts_to_finished(two_institutions, admin_user, admin_client):
    broadcast = _broadcast(admin_user)
    detail = reverse("automation:broadcast_detail", args=[broadcast.pk])
    listing = reverse("automation:broadcast_list")
    assert broadcasts.progress(broadcast)["badge"]["state"] == "queued"
    assert 'data-state="queued"' in admin_client.get(listing).content.decode()
    run_worker()
    body = admin_client.get(detail).content.decode()
    assert 'data-state="sent"' in body and "Terkirim" in body and "0 diterima, 0 gagal" in body
    assert 'hx-trigger="every 1s"' in body  # still polled: the delivery reports are coming
    first, second = sorted(locmem.outbox, key=lambda sms: sms.id)
    locmem.deliver(first)
    locmem.reports.append(locmem.DeliveryReport(second.part_ids[0], False, "absent_subscriber", "Absent subscriber"))
    run_worker()
    body = admin_client.get(detail).content.decode()
    assert 'data-state="done"' in body and "Selesai" in body and "1 diterima, 1 gagal" in body
    assert "Dalam antrean</span>" not in body and 'hx-trigger="every 1s"' not in body
    row = admin_client.get(listing).content.decode()
    assert 'data-state="done"' in row and "Selesai" in row and "1 diterima, 1 gagal" in row


def test_at_night_the_progress_and_the_notification_say_when(two_institutions, admin_user, admin_client, settings):
    settings.SMS_SEND_WINDOW = "08:00-20:00"
    with time_machine.travel(datetime(2026, 12, 3, 22, 37, tzinfo=WIB), tick=False):
        admin_client.force_login(admin_user)
        broadcast = _broadcast(admin_user)
        run_worker()
        assert Message.objects.filter(kind="broadcast", status="queued").count() == 2
        body = admin_client.get(reverse("automation:broadcast_detail", args=[broadcast.pk])).content.decode()
        assert "Menunggu jam kirim: 2 pesan akan dikirim mulai 08:00 WIB, 4 Desember 2026." in body
        assert 'data-state="held"' in body
        [note] = Notification.objects.filter(user=admin_user, kind="broadcast_sent")
        assert "akan dikirim mulai 08:00 WIB, 4 Desember 2026" in note.text


def test_a_queued_lpj_reminder_says_when_it_goes(petugas, petugas_client, settings):
    from abah.automation import reminders
    from abah.grants.models import Grant

    settings.SMS_SEND_WINDOW = "08:00-20:00"
    owing = make_grant(make_institution(), status=Grant.Status.LPJ_MENUNGGU, petugas=petugas,
                       lpj_due_date=datetime(2019, 1, 10).date())
    with time_machine.travel(datetime(2019, 1, 3, 22, 37, tzinfo=WIB), tick=False):  # Thursday night
        petugas_client.force_login(petugas)
        reminders.run()
        body = petugas_client.get(reverse("grants:grant_detail", args=[owing.pk])).content.decode()
        assert 'data-testid="reminder-queued"' in body and "menunggu jam kirim · 08:00 WIB, 4 Januari 2019" in body
        assert "</i> terkirim</span>" not in body
