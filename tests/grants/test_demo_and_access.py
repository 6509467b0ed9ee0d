"""Demo data (every state, valid contacts, idempotent) and the object-level access rules."""

import io

import phonenumbers
import pytest
from django.core.management import call_command

from abah.grants import access
from abah.grants.demo import generate, seed_grants
from abah.grants.models import Contact, Grant, Institution, KodeCounter
from abah.grants.search import search_key
from abah.grants.services import grant_create
from tests.conftest import make_user
from tests.grants.conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db


def test_generate_covers_every_state_with_valid_contacts(petugas):
    counts = generate(300, petugas=[petugas])
    assert counts["grants"] == 300 and Grant.objects.count() == 300
    assert set(Grant.objects.values_list("status", flat=True)) == set(Grant.Status.values)
    assert Grant.objects.filter(status=Grant.Status.ARSIP).exists()
    assert len(set(Grant.objects.values_list("fiscal_year", flat=True))) >= 4
    for phone in Contact.objects.values_list("phone", flat=True):
        number = phonenumbers.parse(phone, None)
        assert phonenumbers.is_valid_number(number) and phone.startswith("+628")
    signed = Grant.objects.filter(status=Grant.Status.NPHD_DITANDATANGANI)
    assert all(g.institution.current_contact is not None for g in signed)
    assert all(i.name_search == search_key(i.name) for i in Institution.objects.all()[:50])
    # Counters follow the generated codes, so a new grant gets a fresh code.
    year, jenis = Grant.objects.values_list("fiscal_year", "jenis").first()
    last = KodeCounter.objects.get(fiscal_year=year, jenis=jenis).last
    grant = grant_create(institution=Institution.objects.first(), fiscal_year=year, jenis=jenis,
                         amount_requested="1000")
    assert grant.kode == f"{year}-{jenis}-{last + 1:05d}"


def test_seed_demo_is_idempotent(db):
    out = io.StringIO()
    call_command("seed_demo", "--size", "120", stdout=out)
    assert Grant.objects.count() == 120
    assert Grant.objects.filter(petugas__username__in=["petugas1", "petugas2"]).exists()
    seed_grants(size=120, stdout=out)
    assert Grant.objects.count() == 120 and "nothing to do" in out.getvalue()


def test_seed_demo_gives_pesan_threads_with_replies(db):
    from abah.grants.messaging import PARTY_TYPE
    from abah.sms.models import Message

    call_command("seed_demo", "--size", "60", stdout=io.StringIO())
    call_command("seed_demo", "--size", "60", stdout=io.StringIO())
    threaded = Message.objects.filter(conversation__party_type=PARTY_TYPE)
    typed = threaded.filter(direction=Message.Direction.OUT, kind=Message.Kind.MANUAL)
    assert typed.filter(status=Message.Status.DELIVERED).count() == 4
    assert threaded.filter(direction=Message.Direction.IN).count() == 3
    assert not Message.objects.filter(conversation__isnull=True).exists()


def test_access_rules(admin_user, petugas, petugas2):
    grant = make_grant(make_institution(), petugas=petugas)
    other = make_grant(make_institution("Masjid Lain"), petugas=petugas2)
    unassigned = make_grant(make_institution("Tanpa Petugas"))
    inactive = make_user("nonaktif", role="petugas", active=False)
    roleless = make_user("tanpaperan", role="")
    assert access.can_change_grant(petugas, grant) and not access.can_change_grant(petugas, other)
    assert not access.can_change_grant(petugas, unassigned) and access.can_change_grant(admin_user, unassigned)
    assert not access.can_change_grant(inactive, grant) and not access.can_change_grant(roleless, grant)
    assert access.can_view(petugas2) and not access.can_view(roleless)
    assert access.can_assign(admin_user) and not access.can_assign(petugas)
    assert access.can_change_institution(petugas, grant.institution)
    assert not access.can_change_institution(petugas, other.institution)
    assert access.can_import(admin_user) and not access.can_import(petugas)
    assert access.can_close_fiscal_year(admin_user) and not access.can_close_fiscal_year(petugas)
