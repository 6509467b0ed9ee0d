"""A text with no delivery report in time tells the staff member who typed it (else the Admins), once per batch,
in words, with a link to its thread; codes and notification copies tell nobody."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from abah.notifications.models import Notification
from abah.sms import expiry, services
from abah.sms.models import Message, MessagePart
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2018, 11, 30, 7, 5, tzinfo=UTC)  # 30 November 2018 14:05 WIB
LATER = SENT_AT + timedelta(hours=49)
KIND = Notification.Kind.MESSAGE_UNREPORTED


def sent_message(*, conversation=None, sender=None, kind="manual", number="081230900095", at=SENT_AT):
    message = services.queue_message(to=number, text="Halo", kind=kind, conversation=conversation, sender=sender)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT, sent_at=at, gateway="default",
                                                 attempts=1, created_at=at)
    MessagePart.objects.create(message=message, seq=1, gateway="default", gateway_message_id=f"T-{message.pk}")
    return message


@pytest.fixture
def thread(db):
    return services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh",
                                     number="081230900095")


@pytest.fixture
def expire(django_capture_on_commit_callbacks):
    def run(now=LATER):
        with django_capture_on_commit_callbacks(execute=True):
            return expiry.expire_unreported(now=now)

    return run


def unreported_notes():
    return list(Notification.objects.filter(kind=KIND).order_by("user_id", "id"))


def test_the_sender_is_told_once_in_words_with_a_link_to_the_thread(thread, petugas, admin_user, expire, client):
    message = sent_message(conversation=thread, sender=petugas)
    assert expire() == 1
    assert expire() == 0  # called again: nothing new, nobody told twice
    [note] = unreported_notes()
    assert note.user == petugas and note.count == 1
    assert note.text == ("Tidak ada laporan pengiriman untuk SMS ke Yayasan Contoh yang dikirim 30 November 2018 "
                         "14:05 WIB: kami tidak tahu apakah SMS itu sampai.")
    assert note.url == f"{reverse('sms:message_list')}?thread={thread.pk}"
    # The link lands on the thread's messages in UCP > Pesan, with the no-report mark.
    client.force_login(petugas)
    response = client.get(reverse("notifications:open", args=[note.pk]), follow=True)
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="mark-no-report"' in body
    assert Message.objects.get(pk=message.pk).status == Message.Status.NO_REPORT


def test_one_notification_per_user_per_batch(thread, petugas, petugas2, expire):
    other = services.conversation_for(party_type="test.party", party_id="8", title="Masjid Al-Ikhlas",
                                      number="081230900096")
    sent_message(conversation=thread, sender=petugas)
    sent_message(conversation=other, sender=petugas, number="081230900096", at=SENT_AT + timedelta(minutes=30))
    sent_message(conversation=thread, sender=petugas2)
    assert expire() == 3
    notes = unreported_notes()
    assert [n.user for n in notes] == [petugas, petugas2]
    mine = notes[0]
    assert mine.text == ("Tidak ada laporan pengiriman untuk 2 SMS ke Yayasan Contoh, Masjid Al-Ikhlas, dikirim "
                         "30 November 2018 14:05 WIB sampai 30 November 2018 14:35 WIB: kami tidak tahu apakah SMS "
                         "itu sampai.")
    assert mine.url == f"{reverse('sms:message_list')}?status=no_report"  # several threads: the list of them


def test_codes_and_notification_copies_tell_nobody(petugas, admin_user, expire):
    sent_message(kind=Message.Kind.CODE, number="081230900011")
    sent_message(kind=Message.Kind.NOTIFICATION, number="081230900012")
    assert expire() == 2
    assert unreported_notes() == []


def test_automatic_texts_outside_any_institution_go_to_the_admins(petugas, admin_user, expire):
    second_admin = make_user("adminkedua", role="admin")
    make_user("adminlama", role="admin", active=False)
    sent_message(kind=Message.Kind.BROADCAST, number="081230900013")
    assert expire() == 1
    notes = unreported_notes()
    assert [n.user for n in notes] == [admin_user, second_admin]
    assert "SMS ke 0812-3090-0013 yang dikirim 30 November 2018 14:05 WIB" in notes[0].text


def test_a_sender_no_longer_active_leaves_it_to_the_admins(thread, admin_user, expire):
    gone = make_user("petugaslama", role="petugas")
    sent_message(conversation=thread, sender=gone)
    gone.is_active = False
    gone.save()
    assert expire() == 1
    assert [n.user for n in unreported_notes()] == [admin_user]


def test_a_message_settled_before_the_batch_is_read_is_not_news(thread, petugas):
    from abah.notifications.unreported import on_messages_unreported

    message = sent_message(conversation=thread, sender=petugas)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.DELIVERED)
    on_messages_unreported(sender=Message, message_ids=[message.pk])
    assert unreported_notes() == []
