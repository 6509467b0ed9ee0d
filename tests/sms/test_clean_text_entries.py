"""Clean text at every entry of the SMS Center's screens (the gateways' inbound path is tested with the worker):
the Pesan dialog's send box, UCP > Pesan's search and filters, the unknown senders' search and attach form,
the virtual phones. On PostgreSQL a NUL in a query or an INSERT is a DataError: a 500."""

import pytest
from django.urls import reverse

from abah.sms import routing, services
from abah.sms.models import Conversation, Message, SimulatorInbound
from tests import cleantext

from .conftest import run_worker

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_dialog_send_stores_cleaned_text(petugas_client, thread):
    url = reverse("sms:conversation_send", args=[thread.pk])
    response = cleantext.post(petugas_client, url, {"text": cleantext.nasty("Selamat\u2028siang")}, **HX)
    assert response.status_code == 200 and response["HX-Trigger"] == "sms-sent"
    assert Message.objects.get().text == cleantext.cleaned("Selamat\nsiang")


def test_dialog_send_of_only_nul_is_an_error_and_queues_nothing(petugas_client, thread):
    url = reverse("sms:conversation_send", args=[thread.pk])
    response = cleantext.post(petugas_client, url, {"text": "\x00\x01\x00"}, **HX)
    assert response.status_code == 200
    assert "Teks pesan kosong." in response.content.decode() and "HX-Trigger" not in response
    assert not Message.objects.exists()


def test_message_list_search_and_filters_with_nul(petugas_client, thread):
    services.queue_message(to="081230900095", text="Mohon hadir tgl 30", kind="invitation", conversation=thread)
    url = reverse("sms:message_list")
    for q in ("mohon hadir", "mo", "0812-3090-0095"):  # the trigram walk, the short scan, the number search
        response = petugas_client.get(cleantext.query(url, {"q": cleantext.nasty(q, surrogate=False)}))
        assert response.status_code == 200
        assert "Mohon hadir tgl 30" in response.content.decode(), q
    response = petugas_client.get(cleantext.query(url, {
        "q": cleantext.nasty("x"), "gateway": cleantext.nasty("default"), "status": b"\x00", "kind": b"\x00",
        "direction": b"\x00", "from": b"2018-01-01\x00", "to": cleantext.SURROGATE_BYTES, "before": b"1\x00"}))
    assert response.status_code == 200
    response = petugas_client.get(cleantext.query(url, {"kind": cleantext.nasty("invitation", surrogate=False),
                                                        "gateway": cleantext.nasty("default", surrogate=False)}))
    assert response.status_code == 200 and "Mohon hadir tgl 30" not in response.content.decode()  # not sent yet


def test_unknown_senders_search_and_attach_with_nul(admin_client):
    services.receive_message(number="081230900077", text="Siapa ini?")
    seen = []

    def search(query):
        seen.append(query)
        return [routing.Party("test.party", "9", "Pondok Pesantren Contoh")]

    routing.register_party_search(search)
    try:
        response = admin_client.get(cleantext.query(reverse("sms:party_search"), {
            "q": cleantext.nasty("pondok", surrogate=False), "number": cleantext.nasty("+6281230900077")}), **HX)
    finally:
        routing.unregister(search)
    assert response.status_code == 200 and seen == ["pondok"]
    # The party comes from the registry's lookup (the posted title is not trusted), by its cleaned type and id.
    routing.register_party_lookup("test.party", lambda pk: search("")[0] if pk == "9" else None)
    try:
        response = cleantext.post(admin_client, reverse("sms:unknown_attach"), {
            "number": cleantext.nasty("+6281230900077", surrogate=False),
            "party_type": cleantext.nasty("test.party", surrogate=False),
            "party_id": cleantext.nasty("9", surrogate=False),
            "title": cleantext.nasty("Pondok Pesantren Contoh"), "party_number": b"\x00"})
    finally:
        routing._LOOKUPS.pop("test.party", None)
    assert response.status_code == 302
    conversation = Message.objects.get().conversation
    assert (conversation.party_type, conversation.party_id, conversation.title) == (
        "test.party", "9", "Pondok Pesantren Contoh")


def test_unknown_attach_of_only_nul_changes_nothing(admin_client):
    services.receive_message(number="081230900077", text="Siapa ini?")
    response = cleantext.post(admin_client, reverse("sms:unknown_attach"), {
        "number": "+6281230900077", "party_type": "\x00", "party_id": "\x00", "title": "\x00"})
    assert response.status_code == 302
    assert Message.objects.get().conversation is None and not Conversation.objects.exists()


def test_virtual_phone_reply_is_cleaned(admin_client, simulator, thread):
    response = admin_client.get(cleantext.query(reverse("sms:simulator_phones"),
                                                {"number": cleantext.nasty("+6281230900095")}))
    assert response.status_code == 200
    cleantext.post(admin_client, reverse("sms:simulator_reply"), {
        "number": cleantext.nasty("+6281230900095", surrogate=False), "text": cleantext.nasty("Terima kasih")})
    assert SimulatorInbound.objects.get().text == cleantext.cleaned("Terima kasih")
    run_worker()
    assert Message.objects.inbound().get().text == cleantext.cleaned("Terima kasih")
