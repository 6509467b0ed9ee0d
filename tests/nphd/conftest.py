"""NPHD fixtures: the locmem gateway, institutions with a contact, grants whose SK is issued (invitable)."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from abah.automation.services import ensure_templates
from abah.grants import services as grant_services
from abah.grants.models import Grant
from tests.grants import conftest as grants_factory

S = Grant.Status


@pytest.fixture(autouse=True)
def _locmem_gateway(settings, locmem_gateway):
    """Every test here sends through the locmem gateway (tests/conftest.py)."""
    settings.ABAH_SMS_INFO_PHONE = "(031) 3524001"


def make_institution(name="Yayasan Nurul Huda", *, phone="081230900095", **fields):
    """An institution with a current contact (the grants tests' factory, with a number by default)."""
    return grants_factory.make_institution(name, phone=phone, **fields)


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
