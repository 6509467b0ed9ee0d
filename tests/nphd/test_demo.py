"""The demo NPHD appointments: one processed (a text delivered, one failed), others waiting; idempotent."""

import io

import pytest
from django.core.management import call_command

from abah.automation.services import ensure_templates
from abah.nphd.models import Appointment, Invitation
from abah.sms.models import Message

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_appointments_once():
    ensure_templates()
    out = io.StringIO()
    call_command("seed_demo", "--size", "400", stdout=out)
    assert "3 NPHD appointments, 5 invitations" in out.getvalue()
    rows = list(Appointment.objects.with_counts().order_by("date"))
    assert [a.jumlah for a in rows] == [2, 2, 1]
    assert [a.is_notified for a in rows] == [True, False, False]
    statuses = sorted(Message.objects.filter(kind="invitation").values_list("status", flat=True))
    assert statuses == ["delivered", "failed"]
    for invitation in Invitation.objects.select_related("appointment", "grant"):
        assert invitation.grant.petugas_id == invitation.appointment.petugas_id
        assert invitation.grant.status == "NPHD_DIJADWALKAN"
    call_command("seed_demo", "--size", "400", stdout=out)
    assert "NPHD appointments exist already; nothing to do" in out.getvalue()
    assert Appointment.objects.count() == 3 and Invitation.objects.count() == 5


def test_seed_demo_without_templates_still_seeds_unsent_appointments():
    from abah.automation.models import SmsTemplate

    SmsTemplate.objects.filter(kind="invitation").update(current=None)
    out = io.StringIO()
    call_command("seed_demo", "--size", "400", stdout=out)
    assert "not processed" in out.getvalue()
    assert Appointment.objects.count() == 3 and not Message.objects.filter(kind="invitation").exists()
