"""An invitation text that got no delivery report in time shows "no report" with its reason, not "pending"."""

from datetime import timedelta

import pytest
from django.urls import reverse

from abah.sms import expiry
from abah.sms.models import Message

from .conftest import invite, run_worker

pytestmark = pytest.mark.django_db


def test_invitee_without_report_shows_its_own_mark_and_keeps_polling(grant_a, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    petugas_client.post(reverse("nphd:appointment_process", args=[appointment.pk]), headers={"HX-Request": "true"})
    run_worker()
    message = Message.objects.get(kind="invitation")
    assert message.status == Message.Status.SENT
    assert expiry.expire_unreported(now=message.sent_at + timedelta(hours=49)) == 1
    page = petugas_client.get(reverse("nphd:appointment_detail", args=[appointment.pk])).content.decode()
    assert 'data-testid="mark-no-report"' in page and 'data-testid="mark-pending"' not in page
    assert "Tidak ada laporan: Tidak ada laporan pengiriman dari gateway dalam 48 jam" in page
    assert 'hx-trigger="every 4s, abah-poll"' in page  # a late receipt may still settle it (tests/nphd/test_live.py)
