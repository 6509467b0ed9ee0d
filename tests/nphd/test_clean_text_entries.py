"""Clean text at every entry of the NPHD screens: the invite dialog, the appointment's place, the list filter."""

import datetime

import pytest
from django.urls import reverse

from abah.nphd.models import Invitation
from tests import cleantext

from .conftest import invite

pytestmark = pytest.mark.django_db
HX = {"headers": {"HX-Request": "true"}}


def test_invite_dialog_stores_cleaned_text(grant_a, petugas_client, future):
    url = reverse("nphd:invite", args=[grant_a.pk])
    response = cleantext.post(petugas_client, url, {
        "region": "ID", "phone": cleantext.nasty("0812-3090-0095", surrogate=False),
        "person": cleantext.nasty("Ahmad Fauzi"), "date": cleantext.nasty(future.isoformat(), surrogate=False)}, **HX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    invitation = Invitation.objects.get()
    assert invitation.appointment.date == future
    assert (invitation.phone, invitation.person) == ("+6281230900095", cleantext.cleaned("Ahmad Fauzi"))


def test_appointment_place_is_cleaned(grant_a, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    response = cleantext.post(petugas_client, reverse("nphd:appointment_edit", args=[appointment.pk]), {
        "time": cleantext.nasty("13:30", surrogate=False), "place": cleantext.nasty("Gedung Negara\u2028Grahadi")})
    assert response.status_code in (200, 302)
    appointment.refresh_from_db()
    assert appointment.time == datetime.time(13, 30)
    assert appointment.place == cleantext.cleaned("Gedung Negara Grahadi")  # the service folds white space


def test_appointment_place_of_only_nul_is_refused_and_changes_nothing(grant_a, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    before = appointment.place
    response = cleantext.post(petugas_client, reverse("nphd:appointment_edit", args=[appointment.pk]),
                              {"time": "13:30", "place": "\x00\x01"})
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.place == before


def test_list_filter_with_nul(grant_a, petugas, petugas_client, future):
    invite(grant_a, petugas, future)
    url = cleantext.query(reverse("nphd:appointment_list"), {
        "date_from": cleantext.nasty(future.isoformat(), surrogate=False), "notified": b"\x00",
        "status": cleantext.nasty("all")})
    assert petugas_client.get(url).status_code == 200
