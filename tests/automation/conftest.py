"""Automation fixtures: the locmem gateway, an institution with a contact, grants in chosen states."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from abah.grants import services as grant_services
from abah.grants.models import Grant
from tests.grants import conftest as grants_factory


@pytest.fixture(autouse=True)
def _templates(request):
    """The templates of migration 0002, also after another test flushed the database (transactional tests)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
        from abah.automation.services import ensure_templates

        ensure_templates()


@pytest.fixture(autouse=True)
def _locmem_gateway(locmem_gateway):
    """Every test here sends through the locmem gateway (tests/conftest.py)."""


def make_institution(name="Yayasan Nurul Huda", *, phone="081230900095", **fields):
    """An institution with a current contact (the grants tests' factory, with a number by default)."""
    return grants_factory.make_institution(name, phone=phone, **fields)


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
