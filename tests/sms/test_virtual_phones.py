"""Telepon Virtual for every staff member in demo mode: search, pages, privacy of codes, and its absence with a
real gateway (issue 14, item 6)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from abah.grants import messaging
from abah.sms import services
from abah.sms.models import Message, SimulatorDelivery, SimulatorInbound
from abah.verification.services import verification_request
from tests.grants.conftest import make_institution

from .conftest import run_worker

pytestmark = pytest.mark.django_db
URL = "/sms/telepon-virtual/"


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _institution_texts():
    nurul = make_institution("Yayasan Nurul Huda", phone="081230900095")
    ikhlas = make_institution("Masjid Al-Ikhlas Krajan", phone="081230900096")
    for institution, text in ((nurul, "Undangan NPHD Nurul Huda"), (ikhlas, "Pencairan Al-Ikhlas")):
        messaging.queue_to_institution(institution=institution, text=text, kind="manual",
                                       idempotency_key=f"t-{institution.pk}")
    run_worker()


def _phones(body):
    return set(re.findall(r'data-testid="phone-(\+\d+)"', body))


def test_petugas_opens_the_phones_and_searches_by_number_and_institution(simulator, petugas):
    _institution_texts()
    client = _client(petugas)
    assert reverse("sms:simulator_phones") == URL
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert _phones(body) == {"+6281230900095", "+6281230900096"}
    assert "Yayasan Nurul Huda" in body and 'data-testid="phone-q"' in body
    # By number: national form, a piece of it, or E.164.
    for query in ("0812 3090 0096", "900096", "+6281230900096"):
        assert _phones(client.get(URL, {"q": query}).content.decode()) == {"+6281230900096"}, query
    # By institution name, through the grants app's party search (words in any order, without the hyphen).
    body = client.get(URL, {"q": "Ikhlas Krajan"}).content.decode()
    assert _phones(body) == {"+6281230900096"}
    assert "Pencairan Al-Ikhlas" in body  # the first phone found is opened
    assert _phones(client.get(URL, {"q": "Tidak Ada Lembaga Ini"}).content.decode()) == set()
    # The petugas replies as the institution; the reply reaches the SMS Center.
    client.post(reverse("sms:simulator_reply"), {"number": "+6281230900095", "text": "Siap hadir"})
    assert SimulatorInbound.objects.get().text == "Siap hadir"


def test_phones_are_paginated_not_cut_at_200(simulator, admin_client):
    from django.utils import timezone

    now = timezone.now()
    SimulatorDelivery.objects.bulk_create(
        SimulatorDelivery(gateway_message_id=f"g{i}", client_ref=str(1000 + i), number=f"+62812309{i:05d}",
                          text="x", accepted_at=now, due_at=now) for i in range(230))
    first = admin_client.get(URL).content.decode()
    assert len(_phones(first)) == 25 and "10" in first
    last = admin_client.get(URL, {"page": "10"}).content.decode()
    assert len(_phones(last)) == 5
    assert _phones(first).isdisjoint(_phones(last))
    assert admin_client.get(URL, {"page": "x"}).status_code == 200


def test_petugas_cannot_read_another_staff_members_code(simulator, petugas, petugas2, admin_user):
    _institution_texts()
    # petugas2 verifies a new number, and also receives a code on a number an institution uses.
    verification_request(user=petugas2, number="081230900077")
    run_worker()
    code_text = SimulatorDelivery.objects.get(number="+6281230900077").text
    code = re.search(r"\d{6}", code_text).group()
    client = _client(petugas)
    listing = client.get(URL).content.decode()
    assert "+6281230900077" not in _phones(listing)
    opened = client.get(URL, {"number": "+6281230900077"}).content.decode()
    assert code not in opened
    assert "staf lain" in opened  # the reason, in Indonesian
    client.post(reverse("sms:simulator_reply"), {"number": "+6281230900077", "text": "kode?"})
    assert not SimulatorInbound.objects.exists()
    # A staff member's phone that an institution also uses: the institution's text in clear, the code not.
    verification_request(user=admin_user, number="081230900095")
    run_worker()
    second_code = re.search(r"\d{6}", SimulatorDelivery.objects.filter(number="+6281230900095")
                            .order_by("-id").first().text).group()
    shared = client.get(URL, {"number": "+6281230900095"}).content.decode()
    assert "Undangan NPHD Nurul Huda" in shared
    assert second_code not in shared and 'data-testid="phone-private"' in shared
    # Its owner reads his own code on his phone (the demo's way to verify a number); the Admin sees every phone.
    assert code in _client(petugas2).get(URL, {"number": "+6281230900077"}).content.decode()
    admin_body = _client(admin_user).get(URL, {"number": "+6281230900077"}).content.decode()
    assert code in admin_body and "+6281230900077" in _phones(admin_body)


def test_petugas_sees_his_own_phone(simulator, petugas):
    services.queue_message(to=petugas.phone, text="Notifikasi untuk Anda", kind="notification")
    Message.objects.update(addressee=petugas)
    run_worker()
    body = _client(petugas).get(URL).content.decode()
    assert _phones(body) == {petugas.phone}
    assert "Notifikasi untuk Anda" in body and "nomor Anda" in body


def test_real_gateway_menu_absent_and_reason_page(petugas, admin_user):
    """The tests' gateway is locmem: a real one for this purpose."""
    for user in (petugas, admin_user):
        client = _client(user)
        response = client.get(URL)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Telepon Virtual hanya tersedia dengan simulator; gateway yang dipakai: Gateway uji (memori)." in body
        assert "LocmemBackend" not in body  # never the class name
        assert 'data-testid="phone-' not in body
        page = client.get(reverse("sms:message_list")).content.decode()
        assert f'href="{URL}"' not in page
        assert client.post(reverse("sms:simulator_reply"), {"number": "+6281230900095", "text": "x"}).status_code == 200
    assert not SimulatorInbound.objects.exists()


def test_menu_entry_for_every_staff_member_with_the_simulator(simulator, petugas):
    page = _client(petugas).get(reverse("sms:message_list")).content.decode()
    assert f'href="{URL}"' in page
