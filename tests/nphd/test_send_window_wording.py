"""At 22:37 WIB, outside the 08:00-20:00 send window, Proses queues the invitations: every screen says "antre" /
"menunggu jam kirim" with the time they will go, never "sudah dikirim", until a gateway accepted them."""

from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from abah.core.formatting import WIB
from abah.grants.models import Activity
from abah.notifications.models import Notification
from abah.sms.models import Message

from .conftest import invite, run_worker

pytestmark = pytest.mark.django_db
NIGHT = datetime(2026, 12, 3, 22, 37, tzinfo=WIB)  # Thursday
WHEN = "08:00 WIB, 4 Desember 2026"


@pytest.fixture
def window(settings):
    settings.SMS_SEND_WINDOW = "08:00-20:00"


def test_proses_at_night_says_queued_until_the_morning(window, grant_a, grant_b, petugas, petugas_client):
    appointment = invite(grant_a, petugas, datetime(2026, 12, 14).date()).appointment
    invitation_b = invite(grant_b, petugas, datetime(2026, 12, 14).date())
    detail = reverse("nphd:appointment_detail", args=[appointment.pk])
    with time_machine.travel(NIGHT, tick=False):
        petugas_client.force_login(petugas)
        answer = petugas_client.post(reverse("nphd:appointment_process", args=[appointment.pk]), follow=True)
        body = answer.content.decode()
        assert f"SMS undangan masuk antrean untuk 2 lembaga. Menunggu jam kirim: akan dikirim mulai {WHEN}." in body
        assert 'data-sent="queued"' in body and "Sudah dikirim" not in body
        assert f"Menunggu jam kirim · {WHEN}" in body
        assert body.count('data-testid="mark-queued"') == 2
        # The grant's Log: queued, not "dikirim melalui SMS".
        [entry] = Activity.objects.filter(grant=grant_a, action="nphd_processed")
        assert entry.message.startswith("SMS undangan NPHD untuk") and "diantrekan ke" in entry.message
        assert entry.message.endswith(f"Menunggu jam kirim: akan dikirim mulai {WHEN}.")
        assert "dikirim melalui SMS" not in entry.message
        log = petugas_client.get(reverse("grants:grant_log", args=[grant_a.pk])).content.decode()
        assert "diantrekan ke" in log and "08:00 WIB" in log
        # The notification about the process.
        [note] = Notification.objects.filter(user=petugas, kind="invitation_processed")
        assert "2 SMS masuk antrean" in note.text and f"akan dikirim mulai {WHEN}" in note.text
        # Sunting: the petugas may no longer change it, and is told it is still in the queue.
        edit = petugas_client.get(reverse("nphd:invitation_edit", args=[invitation_b.pk])).content.decode()
        assert f"SMS undangan ini masih dalam antrean (menunggu jam kirim · {WHEN})" in edit
        assert "sudah dikirim melalui SMS" not in edit
        run_worker()  # the window holds them
        assert Message.objects.filter(kind="invitation", status="queued").count() == 2
    with time_machine.travel(datetime(2026, 12, 4, 8, 0, 5, tzinfo=WIB), tick=False):
        run_worker()
        petugas_client.force_login(petugas)
        body = petugas_client.get(detail).content.decode()
        assert 'data-sent="1"' in body and "Sudah dikirim" in body and 'data-testid="mark-queued"' not in body


def test_inside_the_window_the_badge_says_antre_until_a_gateway_accepts(window, grant_a, petugas, petugas_client):
    appointment = invite(grant_a, petugas, datetime(2026, 12, 14).date()).appointment
    with time_machine.travel(datetime(2026, 12, 3, 10, 0, tzinfo=WIB), tick=False):
        petugas_client.force_login(petugas)
        body = petugas_client.post(reverse("nphd:appointment_process", args=[appointment.pk]),
                                   follow=True).content.decode()
        assert "SMS undangan masuk antrean untuk 1 lembaga." in body and "Menunggu jam kirim" not in body
        assert 'data-sent="queued"' in body and ">Antre" in body.replace("</i> ", ">")
        [entry] = Activity.objects.filter(grant=grant_a, action="nphd_processed")
        assert "diantrekan ke" in entry.message and "Menunggu" not in entry.message
