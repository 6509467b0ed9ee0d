"""Fixtures for the grants app: an institution, grants in a chosen state, assigned to a petugas."""

import datetime
from decimal import Decimal

import pytest

from abah.grants import services
from abah.grants.models import Grant, Institution


def make_institution(name="Yayasan Nurul Huda", *, phone="", person="Ahmad Fauzi", **fields):
    """An institution; with ``phone``, also its current contact."""
    defaults = {"category": Institution.Category.YAYASAN, "regency": "Kabupaten Sidoarjo",
                "bank_name": "Bank Jatim", "account_number": "0011223344556", "address": "Jl. Merdeka 1"}
    defaults.update(fields)
    institution = services.institution_create(name=name, **defaults)
    if phone:
        services.contact_set(institution=institution, person=person, phone=phone)
    return institution


def make_grant(institution=None, *, status=Grant.Status.USULAN_DITERIMA, petugas=None, year=2018, **fields):
    institution = institution or make_institution()
    defaults = {"amount_requested": Decimal("400000000"), "purpose": "Pembangunan Ruang Kelas Baru (RKB)",
                "dpa_number": fields.pop("dpa_number", "")}
    defaults.update(fields)
    grant = services.grant_create(institution=institution, fiscal_year=year, petugas=petugas, **defaults)
    if status != grant.status:
        Grant.objects.filter(pk=grant.pk).update(status=status)
        grant.refresh_from_db()
    return grant


@pytest.fixture
def institution(db):
    return make_institution()


@pytest.fixture
def grant(db, institution, petugas):
    return make_grant(institution, petugas=petugas, dpa_number="5435140501000005")


@pytest.fixture
def today():
    return datetime.date(2018, 11, 30)
