"""Clean text at every entry of Perpesanan: the compose form and the inbox / sent searches."""

import pytest
from django.test import Client

from abah.notifications.models import InternalMessage
from tests import cleantext

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_compose_stores_cleaned_subject_and_body(admin_user, petugas):
    client = _client(admin_user)
    response = cleantext.post(client, "/notifikasi/pesan/tulis/", {
        "recipients": [cleantext.nasty(str(petugas.pk), surrogate=False)],
        "subject": cleantext.nasty("Rapat NPHD"), "body": cleantext.nasty("Besok\u2029pukul 09.00")})
    assert response.status_code == 302
    message = InternalMessage.objects.get()
    assert message.subject == cleantext.cleaned("Rapat NPHD")
    assert message.body == cleantext.cleaned("Besok\npukul 09.00")


def test_compose_of_only_nul_is_refused_and_sends_nothing(petugas_client, admin_user):
    response = cleantext.post(petugas_client, "/notifikasi/pesan/tulis/", {
        "recipients": [str(admin_user.pk)], "subject": "\x00", "body": "\x00\x01"})
    assert response.status_code == 200
    assert not InternalMessage.objects.exists()


def test_inbox_and_sent_search_with_nul(admin_user, petugas):
    _client(admin_user).post("/notifikasi/pesan/tulis/", {"recipients": [petugas.pk], "subject": "Rapat NPHD",
                                                           "body": "Besok"})
    q = cleantext.nasty("Rapat", surrogate=False)
    inbox = _client(petugas).get(cleantext.query("/notifikasi/pesan/", {"q": q}))
    assert inbox.status_code == 200 and "Rapat NPHD" in inbox.content.decode()
    sent = _client(admin_user).get(cleantext.query("/notifikasi/pesan/terkirim/", {"q": q}))
    assert sent.status_code == 200 and "Rapat NPHD" in sent.content.decode()
    assert _client(petugas).get(cleantext.query("/notifikasi/pesan/", {"q": cleantext.nasty("x")})).status_code == 200
