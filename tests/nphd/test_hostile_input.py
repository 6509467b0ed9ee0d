"""Issue 13, findings 4 and 5 in Undangan NPHD: an invitation dated "31 Desember 9999" is refused, the list's
date filters ignore impossible days, the bulk action ignores ids that are not ids ("²", 10^25)."""

import pytest
from django.test import Client
from django.urls import reverse

from abah.nphd.models import Appointment, Invitation
from abah.sms.models import Message

from .conftest import invite

pytestmark = pytest.mark.django_db
BOUND = "Masukkan tanggal antara 1 Januari 2000 dan 31 Desember 2100."


@pytest.fixture
def staff(petugas):
    client = Client(raise_request_exception=False)
    client.force_login(petugas)
    return client


@pytest.mark.parametrize("value", ["9999-12-31", "2101-01-01"])
def test_invitation_date_far_in_the_future_is_refused(grant_a, staff, value):
    response = staff.post(reverse("nphd:invite", args=[grant_a.pk]), {
        "region": "ID", "phone": "0812-3090-0095", "person": "Ahmad Fauzi", "date": value})
    assert response.status_code == 200 and BOUND in response.content.decode()
    assert not Invitation.objects.exists() and not Appointment.objects.exists() and not Message.objects.exists()


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2026-13-45", "²⁰²⁶-01-01"])
def test_list_filters_ignore_impossible_dates(grant_a, petugas, staff, future, value):
    invite(grant_a, petugas, future)
    response = staff.get(reverse("nphd:appointment_list"), {"date_from": value, "date_to": value})
    assert response.status_code == 200


@pytest.mark.parametrize("ids", [["²"], ["10000000000000000000000000"], [str(2**63)], ["-1"], ["١٢"], ["1e3"]])
def test_bulk_action_ignores_values_that_are_not_ids(grant_a, petugas, staff, future, ids):
    invite(grant_a, petugas, future)
    response = staff.post(reverse("nphd:bulk_action"), {"action": "process", "ids": ids, "confirm": "1"})
    assert response.status_code == 302
    assert not Message.objects.exists()


def test_bulk_action_keeps_the_good_ids_among_bad_ones(grant_a, petugas, staff, future):
    one = invite(grant_a, petugas, future).appointment
    response = staff.post(reverse("nphd:bulk_action"), {
        "action": "process", "ids": ["²", str(one.pk), "10000000000000000000000000"]})
    assert response.status_code == 200 and f"#{one.pk}" in response.content.decode()  # the Ya confirmation
    assert not Message.objects.exists()
