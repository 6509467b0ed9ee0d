"""Issue 13, findings 5 and 9: query parameters that used to answer HTTP 500 in the SMS Center, the Pesan dialog's
send checked before anything is queued, and the unknown-sender attach resolved through the routing registry."""

import pytest
from django.test import Client
from django.urls import reverse

from abah.sms import routing, services
from abah.sms.models import Conversation, Message

HX = {"HTTP_HX_REQUEST": "true"}
BAD_NUMBERS = ["²", "١٢", "10000000000000000000000000", str(2**63), "-1"]
BAD_DATES = ["9999-12-31", "0001-01-01", "2026-13-45", "²⁰²⁶-01-01"]


@pytest.fixture
def staff(petugas):
    client = Client(raise_request_exception=False)
    client.force_login(petugas)
    return client


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("name", ["before", "thread"])
def test_message_list_ignores_a_bad_number(staff, thread, name, value):
    services.queue_message(to="081230900095", text="Halo", kind="manual", conversation=thread)
    response = staff.get(reverse("sms:message_list"), {name: value})
    assert response.status_code == 200
    assert "Halo" in response.content.decode()  # the parameter is ignored: the whole list


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize("name", ["from", "to"])
def test_message_list_ignores_an_impossible_date(staff, thread, name, value):
    services.queue_message(to="081230900095", text="Halo", kind="manual", conversation=thread)
    response = staff.get(reverse("sms:message_list"), {name: value})
    assert response.status_code == 200 and "Halo" in response.content.decode()


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_thread_poll_and_older_refuse_a_bad_number_without_500(staff, thread, value):
    assert staff.get(reverse("sms:conversation_thread", args=[thread.pk]), {"since": value}, **HX).status_code == 200
    assert staff.get(reverse("sms:conversation_older", args=[thread.pk]), {"before": value}, **HX).status_code == 404


@pytest.mark.parametrize("value", BAD_NUMBERS + ["abc", "1.5"])
def test_send_with_a_bad_since_queues_nothing_and_says_so(staff, thread, value):
    response = staff.post(reverse("sms:conversation_send", args=[thread.pk]),
                          {"text": "Selamat siang", "since": value}, **HX)
    assert response.status_code == 200
    assert "Dialog ini sudah usang" in response.content.decode()
    assert "HX-Trigger" not in response
    assert not Message.objects.exists()  # never queued then answered with an error: the clerk would send twice


def test_send_with_a_good_since_queues_once(staff, thread):
    first = services.queue_message(to="081230900095", text="Halo", kind="manual", conversation=thread)
    response = staff.post(reverse("sms:conversation_send", args=[thread.pk]),
                          {"text": "Selamat siang", "since": str(first.pk)}, **HX)
    assert response.status_code == 200 and response["HX-Trigger"] == "sms-sent"
    assert Message.objects.count() == 2


@pytest.fixture
def registered_party():
    def lookup(party_id):
        return routing.Party("test.party", party_id, "Pondok Pesantren Contoh") if party_id == "9" else None

    routing.register_party_lookup("test.party", lookup)
    yield
    routing.unregister(lookup)


@pytest.mark.parametrize("party_type, party_id", [
    ("test.party", "10"),  # a registered type, but no such party
    ("grants.institution", "999999"),  # the grants app's type, no such institution
    ("grants.institution", "²"),
    ("evil.type", "9"),  # a type nobody registered
    ("", "9"),
])
def test_attach_refuses_an_unknown_party_type_or_a_party_that_does_not_exist(admin_client, registered_party,
                                                                          party_type, party_id):
    services.receive_message(number="081230900077", text="Siapa ini?")
    response = admin_client.post(reverse("sms:unknown_attach"), {
        "number": "+6281230900077", "party_type": party_type, "party_id": party_id, "title": "Lembaga Palsu"})
    assert response.status_code == 302
    assert not Conversation.objects.exists()
    assert Message.objects.get().conversation is None


def test_attach_takes_the_title_from_the_registry_not_the_form(admin_client, registered_party):
    services.receive_message(number="081230900077", text="Siapa ini?")
    admin_client.post(reverse("sms:unknown_attach"), {
        "number": "+6281230900077", "party_type": "test.party", "party_id": "9", "title": "<b>Judul palsu</b>"})
    assert Message.objects.get().conversation.title == "Pondok Pesantren Contoh"
