"""NPHD fixtures: the locmem gateway, institutions with a contact, grants whose SK is issued (invitable)."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from abah.grants import services as grant_services
from abah.grants.models import Grant, Institution
from abah.sms.backends import locmem

LOCMEM = {"default": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend", "OPTIONS": {}}}
S = Grant.Status


def ensure_templates():
    """The invitation templates come from automation's data migration; a transactional test's flush removes
    them, so the tests after one put the defaults back."""
    from abah.automation import services as automation_services
    from abah.automation.models import SmsTemplate
    from abah.automation.templating import DEFAULT_TEXTS

    for kind in ("invitation", "invitation_cancelled"):
        if not SmsTemplate.objects.filter(kind=kind, current__isnull=False).exists():
            automation_services.template_save(kind=kind, text=DEFAULT_TEXTS[kind])


@pytest.fixture(autouse=True)
def _locmem_gateway(settings, monkeypatch):
    monkeypatch.delenv("SMS_GATEWAY_BACKEND", raising=False)
    monkeypatch.delenv("SMS_GATEWAY_OPTIONS", raising=False)
    settings.SMS_GATEWAYS = LOCMEM
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    settings.ABAH_SMS_INFO_PHONE = "(031) 3524001"
    locmem.reset()
    yield
    locmem.reset()


def make_institution(name="Yayasan Nurul Huda", *, phone="081230900095", person="Ahmad Fauzi", **fields):
    defaults = {"category": Institution.Category.YAYASAN, "regency": "Kabupaten Sidoarjo",
                "bank_name": "Bank Jatim", "account_number": "0011223344556", "address": "Jl. Merdeka 1"}
    defaults.update(fields)
    institution = grant_services.institution_create(name=name, **defaults)
    if phone:
        grant_services.contact_set(institution=institution, person=person, phone=phone)
    return institution


def make_grant(institution=None, *, status=S.DITETAPKAN, petugas=None, year=2026, **fields):
    ensure_templates()
    institution = institution or make_institution()
    defaults = {"amount_requested": Decimal("400000000"), "purpose": "Pembangunan Ruang Kelas Baru (RKB)"}
    defaults.update(fields)
    grant = grant_services.grant_create(institution=institution, fiscal_year=year, petugas=petugas, **defaults)
    Grant.objects.filter(pk=grant.pk).update(status=status, sk_number="188/45/KPTS/013/2026",
                                             amount_approved=Decimal("400000000"))
    grant.refresh_from_db()
    return grant


@pytest.fixture
def today():
    from django.utils import timezone

    return timezone.localdate()


@pytest.fixture
def future(today):
    return today + datetime.timedelta(days=7)


@pytest.fixture
def grant_a(db, petugas):
    return make_grant(make_institution("Yayasan Nurul Huda", phone="081230900095", person="Ahmad Fauzi"),
                      petugas=petugas)


@pytest.fixture
def grant_b(db, petugas):
    return make_grant(make_institution("Masjid Jami' Al-Ikhlas Sukorejo", phone="085730900096", person="Siti Aminah"),
                      petugas=petugas)


def invite(grant, by, date, *, phone=None, person=None):
    from abah.nphd import services

    contact = grant.institution.current_contact
    return services.invitation_create(grant=grant, date=date, phone=phone or contact.phone,
                                      person=person or contact.person, region="ID", by=by)


def run_worker():
    call_command("smsd", once=True)
