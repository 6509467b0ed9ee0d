"""Automation fixtures: the locmem gateway, an institution with a contact, grants in chosen states."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from abah.grants import services as grant_services
from abah.grants.models import Grant, Institution
from abah.sms.backends import locmem

LOCMEM = {"default": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend", "OPTIONS": {}}}


@pytest.fixture(autouse=True)
def _templates(request):
    """The templates of migration 0002, also after another test flushed the database (transactional tests)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
        from abah.automation.services import ensure_templates

        ensure_templates()


@pytest.fixture(autouse=True)
def _locmem_gateway(settings, monkeypatch):
    monkeypatch.delenv("SMS_GATEWAY_BACKEND", raising=False)
    monkeypatch.delenv("SMS_GATEWAY_OPTIONS", raising=False)
    settings.SMS_GATEWAYS = LOCMEM
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
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


def make_grant(institution=None, *, status=Grant.Status.USULAN_DITERIMA, petugas=None, year=2018, **fields):
    institution = institution or make_institution()
    update = {k: fields.pop(k) for k in ("lpj_due_date", "amount_approved", "lpj_received_on") if k in fields}
    defaults = {"amount_requested": Decimal("400000000"), "purpose": "Pembangunan Ruang Kelas Baru (RKB)"}
    defaults.update(fields)
    grant = grant_services.grant_create(institution=institution, fiscal_year=year, petugas=petugas, **defaults)
    update["status"] = status
    Grant.objects.filter(pk=grant.pk).update(**update)
    grant.refresh_from_db()
    return grant


@pytest.fixture
def institution(db):
    return make_institution()


@pytest.fixture
def grant(db, institution, petugas):
    return make_grant(institution, petugas=petugas)


@pytest.fixture
def today():
    return datetime.date(2018, 11, 30)


def run_worker(**options):
    call_command("smsd", once=True, **options)
