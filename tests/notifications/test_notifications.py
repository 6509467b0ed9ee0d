"""notify(): merging, targets, the bell badge, the list, opening and marking read; users see only their own."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from abah.notifications import services
from abah.notifications.badges import notifications_badge
from abah.notifications.models import InternalMessage, Notification
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><b>tebal</b>'


@pytest.fixture
def target(admin_user, petugas):
    """Any saved model with get_absolute_url (here an internal message) stands for an institution."""
    return InternalMessage.objects.create(sender=admin_user, subject="Yayasan Contoh", body="-")


def test_notify_creates_a_notification_with_target_and_link(petugas, admin_user, target):
    n = services.notify(user=petugas, kind="contact_changed", target=target, text="Kontak Yayasan Contoh diubah",
                        actor=admin_user)
    assert n.user == petugas and n.kind == "contact_changed" and n.count == 1 and not n.is_read
    assert n.target_type.model_class() is InternalMessage and n.target_id == str(target.pk)
    assert n.url == target.get_absolute_url()
    assert n.actor == admin_user


def test_same_kind_same_target_while_unread_is_merged(petugas, target):
    first = services.notify(user=petugas, kind="note_added", target=target, text="Catatan 1")
    second = services.notify(user=petugas, kind="note_added", target=target, text="Catatan 2")
    assert first.pk == second.pk
    assert Notification.objects.count() == 1
    second.refresh_from_db()
    assert second.count == 2 and second.version == 2 and second.text == "Catatan 2"


def test_different_kind_or_target_or_user_is_not_merged(petugas, petugas2, admin_user, target):
    other = InternalMessage.objects.create(sender=admin_user, subject="Lain", body="-")
    services.notify(user=petugas, kind="note_added", target=target, text="a")
    services.notify(user=petugas, kind="message_sent", target=target, text="b")
    services.notify(user=petugas, kind="note_added", target=other, text="c")
    services.notify(user=petugas2, kind="note_added", target=target, text="d")
    assert Notification.objects.count() == 4


def test_targetless_notifications_merge_per_kind(petugas):
    services.notify(user=petugas, kind="account", text="a")
    services.notify(user=petugas, kind="account", text="b")
    assert Notification.objects.get().count == 2


def test_after_reading_a_new_event_starts_a_new_notification(petugas, target):
    first = services.notify(user=petugas, kind="note_added", target=target, text="1")
    services.notifications_mark_read(user=petugas)
    second = services.notify(user=petugas, kind="note_added", target=target, text="2")
    assert second.pk != first.pk
    assert Notification.objects.filter(is_read=False).count() == 1


def test_unknown_kind_and_empty_text_are_refused(petugas):
    with pytest.raises(ValueError):
        services.notify(user=petugas, kind="bogus", text="x")
    with pytest.raises(ValueError):
        services.notify(user=petugas, kind="other", text="   ")
    assert Notification.objects.count() == 0


def test_long_text_is_cut_to_fit(petugas):
    n = services.notify(user=petugas, kind="other", text="x" * 900)
    assert len(n.text) == 500


def _badge(user):
    request = RequestFactory().get("/")
    request.user = user
    return notifications_badge(request)


def test_badge_counts_unread_and_lists_latest_with_links(petugas, target, django_assert_num_queries):
    services.notify(user=petugas, kind="note_added", target=target, text="Catatan ditambahkan")
    services.notify(user=petugas, kind="note_added", target=target, text="Catatan kedua")
    services.notify(user=petugas, kind="message_sent", target=target, text="Pesan terkirim")
    with django_assert_num_queries(2):
        badge = _badge(petugas)
    assert badge["count"] == 2
    assert badge["url"] == "/notifikasi/"
    assert [item["text"] for item in badge["items"]] == ["Pesan terkirim", "Catatan kedua (×2)"]
    assert badge["items"][0]["url"].startswith("/notifikasi/") and badge["items"][0]["read"] is False
    assert len(badge["actions"]) == 1 and "baca-semua" in badge["actions"][0]


def test_navbar_shows_the_bell_count_and_mark_all_read(petugas_client, petugas, target):
    services.notify(user=petugas, kind="note_added", target=target, text="Catatan ditambahkan")
    html = petugas_client.get("/").content.decode()
    bell = html.split('data-testid="badge-notif"')[1].split("</li>")[0]
    assert ">1<span" in bell
    assert "Catatan ditambahkan" in bell
    assert 'action="/notifikasi/baca-semua/"' in bell and "csrfmiddlewaretoken" in bell


def test_open_marks_read_and_goes_to_the_object(petugas_client, petugas, target):
    n = services.notify(user=petugas, kind="note_added", target=target, text="x")
    response = petugas_client.get(reverse("notifications:open", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == target.get_absolute_url()
    n.refresh_from_db()
    assert n.is_read and n.read_at is not None


def test_open_without_target_goes_to_the_list(petugas_client, petugas):
    n = services.notify(user=petugas, kind="account", text="x")
    response = petugas_client.get(reverse("notifications:open", args=[n.pk]))
    assert response["Location"] == "/notifikasi/"


def test_mark_all_read(petugas_client, petugas, petugas2, target):
    services.notify(user=petugas, kind="note_added", target=target, text="a")
    services.notify(user=petugas, kind="message_sent", target=target, text="b")
    services.notify(user=petugas2, kind="message_sent", target=target, text="c")
    response = petugas_client.post("/notifikasi/baca-semua/", {"next": "/notifikasi/pesan/"})
    assert response["Location"] == "/notifikasi/pesan/"
    assert Notification.objects.filter(user=petugas, is_read=False).count() == 0
    assert Notification.objects.filter(user=petugas2, is_read=False).count() == 1
    assert petugas_client.post("/notifikasi/baca-semua/", {"next": "https://evil.example/"})["Location"] == (
        "/notifikasi/"
    )
    assert petugas_client.get("/notifikasi/baca-semua/").status_code == 405


def test_petugas_sees_only_own_notifications(petugas_client, petugas, petugas2, target):
    mine = services.notify(user=petugas, kind="note_added", target=target, text="Punyaku sendiri")
    theirs = services.notify(user=petugas2, kind="note_added", target=target, text="Rahasia petugas lain")
    html = petugas_client.get("/notifikasi/").content.decode()
    assert "Punyaku sendiri" in html and "Rahasia petugas lain" not in html
    assert "Rahasia petugas lain" not in petugas_client.get("/").content.decode()
    assert petugas_client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_read
    assert petugas_client.get(reverse("notifications:open", args=[mine.pk])).status_code == 302


def test_admin_does_not_see_a_petugas_notifications_either(admin_client, petugas, target):
    n = services.notify(user=petugas, kind="note_added", target=target, text="Milik petugas")
    assert "Milik petugas" not in admin_client.get("/notifikasi/").content.decode()
    assert admin_client.get(reverse("notifications:open", args=[n.pk])).status_code == 404


def test_list_filters_unread_and_paginates(petugas_client, petugas, admin_user):
    for i in range(30):
        t = InternalMessage.objects.create(sender=admin_user, subject=f"L{i}", body="-")
        services.notify(user=petugas, kind="note_added", target=t, text=f"Catatan nomor {i}")
    services.notifications_mark_read(user=petugas, ids=Notification.objects.filter(text="Catatan nomor 0")
                                     .values_list("pk", flat=True))
    html = petugas_client.get("/notifikasi/").content.decode()
    assert "Terdapat 30 notifikasi" in html and "Halaman 1 dari 2" in html
    html = petugas_client.get("/notifikasi/?state=unread").content.decode()
    assert "Terdapat 29 notifikasi" in html and "Catatan nomor 0<" not in html


def test_html_in_notification_text_is_escaped_everywhere(petugas_client, petugas, target):
    services.notify(user=petugas, kind="reply_received", target=target, text=XSS)
    for path in ["/", "/notifikasi/"]:
        html = petugas_client.get(path).content.decode()
        assert "<script>alert" not in html and "<b>tebal</b>" not in html, path
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html, path


def test_inactive_users_get_notifications_but_no_deliveries(db, target):
    user = make_user("nonaktif", role="petugas", active=False, notify_email=True, notify_sms=True)
    n = services.notify(user=user, kind="other", text="x")
    assert n.deliveries.count() == 0
