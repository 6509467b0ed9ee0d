"""Perpesanan: compose to several users, inbox/sent, read status, reply, envelope badge, privacy, escaping."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from abah.notifications import services
from abah.notifications.badges import messages_badge
from abah.notifications.models import InternalMessage, MessageRecipient
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror="alert(1)">'


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_compose_to_two_users(admin_user, petugas, petugas2):
    client = _client(admin_user)
    page = client.get("/notifikasi/pesan/tulis/").content.decode()
    assert "Kepada" in page and "Perihal" in page and f'value="{admin_user.pk}"' not in page
    response = client.post(
        "/notifikasi/pesan/tulis/",
        {"recipients": [petugas.pk, petugas2.pk], "subject": "Rapat NPHD", "body": "Besok jam 9."},
    )
    message = InternalMessage.objects.get()
    assert response["Location"] == reverse("notifications:message_detail", args=[message.pk])
    assert set(message.recipients.values_list("user__username", flat=True)) == {"petugasa", "petugasb"}
    assert "Rapat NPHD" in _client(petugas).get("/notifikasi/pesan/").content.decode()
    assert "Rapat NPHD" in _client(petugas2).get("/notifikasi/pesan/").content.decode()
    sent = client.get("/notifikasi/pesan/terkirim/").content.decode()
    assert "Rapat NPHD" in sent and "Terdapat 1 pesan" in sent


def test_compose_errors_are_clear_and_send_nothing(petugas_client, petugas):
    page = petugas_client.post("/notifikasi/pesan/tulis/", {"subject": "", "body": ""}).content.decode()
    assert "Pilih paling sedikit satu penerima." in page
    page = petugas_client.post(
        "/notifikasi/pesan/tulis/", {"recipients": [petugas.pk], "subject": "a", "body": "b"}
    ).content.decode()
    assert "Pilih penerima dari daftar." in page  # oneself is not in the list
    assert InternalMessage.objects.count() == 0


def test_service_refuses_sending_only_to_oneself(petugas):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.message_send(sender=petugas, recipients=[petugas], subject="a", body="b")
    assert InternalMessage.objects.count() == 0


def test_opening_marks_read_and_the_sender_sees_it(admin_user, petugas):
    message = services.message_send(sender=admin_user, recipients=[petugas], subject="Halo", body="Isi")
    reader = _client(petugas)
    inbox = reader.get("/notifikasi/pesan/").content.decode()
    assert 'class="fw-semibold" data-testid="inbox-row' in inbox
    page = reader.get(reverse("notifications:message_detail", args=[message.pk])).content.decode()
    assert "Isi" in page
    row = MessageRecipient.objects.get()
    assert row.read_at is not None
    sent = _client(admin_user).get("/notifikasi/pesan/terkirim/").content.decode()
    assert "bi-check2-all text-success" in sent


def test_sender_opening_own_message_does_not_mark_it_read(admin_user, petugas):
    message = services.message_send(sender=admin_user, recipients=[petugas], subject="Halo", body="Isi")
    _client(admin_user).get(reverse("notifications:message_detail", args=[message.pk]))
    assert MessageRecipient.objects.get().read_at is None


def test_reply_goes_back_to_the_sender(admin_user, petugas):
    message = services.message_send(sender=admin_user, recipients=[petugas], subject="Halo", body="Isi")
    client = _client(petugas)
    page = client.get(reverse("notifications:reply", args=[message.pk])).content.decode()
    assert 'value="Re: Halo"' in page
    assert f'<option value="{admin_user.pk}" selected>' in page
    client.post(
        reverse("notifications:reply", args=[message.pk]),
        {"recipients": [admin_user.pk], "subject": "Re: Halo", "body": "Siap."},
    )
    answer = InternalMessage.objects.exclude(pk=message.pk).get()
    assert answer.parent == message and answer.sender == petugas
    assert list(answer.recipients.values_list("user", flat=True)) == [admin_user.pk]


def test_others_cannot_read_or_reply(admin_user, petugas, petugas2):
    message = services.message_send(sender=admin_user, recipients=[petugas], subject="Pribadi", body="Rahasia")
    outsider = _client(petugas2)
    assert outsider.get(reverse("notifications:message_detail", args=[message.pk])).status_code == 404
    assert outsider.get(reverse("notifications:reply", args=[message.pk])).status_code == 404
    assert "Pribadi" not in outsider.get("/notifikasi/pesan/").content.decode()
    assert "Pribadi" not in outsider.get("/notifikasi/pesan/terkirim/").content.decode()
    assert "Pribadi" not in outsider.get("/").content.decode()
    assert MessageRecipient.objects.get().read_at is None


def test_envelope_badge(admin_user, petugas, django_assert_num_queries):
    services.message_send(sender=admin_user, recipients=[petugas], subject="Satu", body="1")
    services.message_send(sender=admin_user, recipients=[petugas], subject="Dua", body="2")
    request = RequestFactory().get("/")
    request.user = petugas
    with django_assert_num_queries(2):
        badge = messages_badge(request)
    assert badge["count"] == 2 and badge["url"] == "/notifikasi/pesan/"
    assert [item["text"] for item in badge["items"]] == ["Adminuser Test: Dua", "Adminuser Test: Satu"]
    html = _client(petugas).get("/").content.decode()
    envelope = html.split('data-testid="badge-inbox"')[1].split("</li>")[0]
    assert ">2<span" in envelope and "Dua" in envelope


def test_mark_all_messages_read(admin_user, petugas, petugas2):
    services.message_send(sender=admin_user, recipients=[petugas, petugas2], subject="Satu", body="1")
    _client(petugas).post("/notifikasi/pesan/baca-semua/")
    assert MessageRecipient.objects.get(user=petugas).read_at is not None
    assert MessageRecipient.objects.get(user=petugas2).read_at is None


def test_inactive_users_are_not_offered_or_addressed(admin_user):
    gone = make_user("pergi", role="petugas", active=False)
    page = _client(admin_user).get("/notifikasi/pesan/tulis/").content.decode()
    assert f'value="{gone.pk}"' not in page


def test_search_in_inbox(admin_user, petugas):
    services.message_send(sender=admin_user, recipients=[petugas], subject="Anggaran", body="x")
    services.message_send(sender=admin_user, recipients=[petugas], subject="Rapat", body="y")
    html = _client(petugas).get("/notifikasi/pesan/?q=rapat").content.decode()
    table = html.split("<tbody>")[1].split("</tbody>")[0]
    assert "Rapat" in table and "Anggaran" not in table


def test_html_in_subject_and_body_is_escaped_everywhere(admin_user, petugas):
    message = services.message_send(sender=admin_user, recipients=[petugas], subject=XSS, body=XSS)
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    reader, writer = _client(petugas), _client(admin_user)
    pages = {
        "inbox": reader.get("/notifikasi/pesan/"),
        "navbar": reader.get("/notifikasi/"),
        "detail": reader.get(reverse("notifications:message_detail", args=[message.pk])),
        "reply": reader.get(reverse("notifications:reply", args=[message.pk])),
        "sent": writer.get("/notifikasi/pesan/terkirim/"),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert "<img src=x" not in html, name
        assert escaped in html or "Re: &lt;img" in html, name
