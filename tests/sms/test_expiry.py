"""Expiry: a text accepted by the gateway with no final report in time becomes "no report" (Tidak ada laporan),
a late receipt still settles it, each expired text is announced once, and the clerk sees its own mark."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.urls import reverse
from django.utils import translation

from abah.notifications.models import Notification
from abah.sms import expiry, services
from abah.sms.backends import locmem
from abah.sms.errors import reason_text
from abah.sms.models import Message, MessagePart
from abah.sms.signals import messages_unreported

from .conftest import run_worker

SENT_AT = datetime(2018, 11, 30, 7, 5, tzinfo=UTC)  # 30 November 2018 14:05 WIB
HX = {"HTTP_HX_REQUEST": "true"}


def sent_message(*, at=SENT_AT, conversation=None, sender=None, kind="manual", number="081230900095", text="Halo"):
    """A message the gateway accepted at ``at`` (one part, no report yet), as the worker records it."""
    message = services.queue_message(to=number, text=text, kind=kind, conversation=conversation, sender=sender)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT, sent_at=at, gateway="default",
                                                 attempts=1, queued_at=at, created_at=at)
    MessagePart.objects.create(message=message, seq=1, gateway="default", gateway_message_id=f"T-{message.pk}",
                               updated_at=at)
    message.refresh_from_db()
    return message


@pytest.fixture
def announced():
    """The batches messages_unreported announced."""
    batches = []

    def receiver(sender, message_ids, **kwargs):
        batches.append(sorted(message_ids))

    messages_unreported.connect(receiver, dispatch_uid="test.expiry.announced")
    yield batches
    messages_unreported.disconnect(dispatch_uid="test.expiry.announced")


@pytest.mark.django_db
def test_sent_message_becomes_no_report_after_48_hours_not_before(thread, announced,
                                                                   django_capture_on_commit_callbacks):
    message = sent_message(conversation=thread)
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=SENT_AT + timedelta(hours=47, minutes=59)) == 0
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and announced == []

    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=SENT_AT + timedelta(hours=48, seconds=1)) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.NO_REPORT
    assert message.error_code == "no_report"
    assert message.error_reason == ("No delivery report from the gateway within 48 hours: "
                                    "the gateway does not say whether it arrived")
    assert not message.is_pending  # no longer "on its way"
    assert announced == [[message.pk]]
    # The parts stay as they were, so that a late receipt still matches them.
    assert list(message.parts.values_list("status", flat=True)) == [MessagePart.Status.SENT]


@pytest.mark.django_db
def test_only_sent_outgoing_messages_expire(thread, django_capture_on_commit_callbacks):
    old = SENT_AT - timedelta(days=10)
    expiring = sent_message(conversation=thread, at=old)
    queued = services.queue_message(to="081230900095", text="Antri", kind="manual", conversation=thread)
    delivered = sent_message(conversation=thread, at=old)
    Message.objects.filter(pk=delivered.pk).update(status=Message.Status.DELIVERED)
    incoming = services.receive_message(number="081230900095", text="Balasan")
    Message.objects.filter(pk__in=[queued.pk, incoming.pk]).update(created_at=old)
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=SENT_AT) == 1
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {expiring.pk: "no_report", queued.pk: "queued", delivered.pk: "delivered",
                        incoming.pk: "received"}


@pytest.mark.django_db
def test_expiry_hours_come_from_the_setting(settings, thread, django_capture_on_commit_callbacks):
    settings.SMS_REPORT_EXPIRY_HOURS = 2
    message = sent_message(conversation=thread)
    assert expiry.expire_unreported(now=SENT_AT + timedelta(hours=1, minutes=59)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=SENT_AT + timedelta(hours=2, minutes=1)) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.NO_REPORT
    with translation.override("id"):
        assert reason_text(message.error_code, message.error_reason) == (
            "Tidak ada laporan pengiriman dari gateway dalam 2 jam: gateway tidak memberi tahu apakah pesan sampai")
    settings.SMS_REPORT_EXPIRY_HOURS = "dua hari"
    with pytest.raises(ImproperlyConfigured):
        expiry.expire_unreported(now=SENT_AT)
    settings.SMS_REPORT_EXPIRY_HOURS = 0
    with pytest.raises(ImproperlyConfigured):
        expiry.expire_unreported(now=SENT_AT)


@pytest.mark.django_db
def test_nothing_to_do_costs_one_read(thread, django_assert_num_queries):
    sent_message(conversation=thread, at=SENT_AT)  # recent: not expired yet
    with django_assert_num_queries(1):
        assert expiry.expire_unreported(now=SENT_AT + timedelta(hours=1)) == 0


@pytest.mark.django_db
def test_a_batch_is_bounded_by_limit_oldest_first(thread, announced, django_capture_on_commit_callbacks):
    messages = [sent_message(conversation=thread, at=SENT_AT + timedelta(minutes=i)) for i in range(5)]
    later = SENT_AT + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=later, limit=3) == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=later, limit=3) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=later, limit=3) == 0
    assert announced == [[m.pk for m in messages[:3]], [m.pk for m in messages[3:]]]


@pytest.mark.django_db
def test_called_twice_announces_each_message_once(thread, announced, django_capture_on_commit_callbacks):
    first, second = sent_message(conversation=thread), sent_message(conversation=thread)
    later = SENT_AT + timedelta(hours=49)
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry.expire_unreported(now=later) == 2
        assert expiry.expire_unreported(now=later) == 0
    assert announced == [[first.pk, second.pk]]


@pytest.mark.django_db
def test_late_delivery_report_after_expiry_still_delivers(thread):
    """A late receipt wins: the worker matches it to the part that stayed "sent" and settles the message.
    (Needs settle_messages to settle NO_REPORT messages too: Message.SETTLEABLE_STATUSES.)"""
    message = services.queue_message(to="081230900095", text="Undangan", kind="manual", conversation=thread)
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert expiry.expire_unreported(now=message.sent_at + timedelta(hours=49)) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.NO_REPORT
    [sms] = locmem.outbox
    locmem.deliver(sms)
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at


@pytest.mark.django_db
def test_late_failure_report_after_expiry_fails_with_its_reason(thread):
    message = services.queue_message(to="081230900095", text="Undangan", kind="manual", conversation=thread)
    run_worker()
    message.refresh_from_db()
    assert expiry.expire_unreported(now=message.sent_at + timedelta(hours=49)) == 1
    [sms] = locmem.outbox
    locmem.deliver(sms, delivered=False, error_code="absent_subscriber", error_reason="Absent subscriber")
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.error_code == "absent_subscriber"


# ---------------------------------------------------------------- several workers at once (PostgreSQL)


def _count_notifications(user):
    return Notification.objects.filter(user=user, kind=Notification.Kind.MESSAGE_UNREPORTED).count()


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_move_and_announce_each_message_once(require_postgres, petugas, announced):
    """Worker A has locked and moved the batch but not committed; worker B, running meanwhile, skips those rows
    (SKIP LOCKED) instead of taking them too; after A commits, nothing is left. One announcement, one
    notification."""
    thread = services.conversation_for(party_type="test.party", party_id="8", title="Yayasan Paralel",
                                       number="081230900095")
    messages = [sent_message(conversation=thread, sender=petugas) for _ in range(3)]
    later = SENT_AT + timedelta(hours=49)
    locked, release, results = threading.Event(), threading.Event(), {}

    def worker_a():
        try:
            with transaction.atomic():
                results["a"] = expiry.expire_unreported(now=later)
                locked.set()
                release.wait(30)
        finally:
            locked.set()
            connection.close()

    thread_a = threading.Thread(target=worker_a)
    thread_a.start()
    assert locked.wait(30)
    try:
        results["b"] = expiry.expire_unreported(now=later)
    finally:
        release.set()
        thread_a.join(30)
    results["again"] = expiry.expire_unreported(now=later)
    assert results == {"a": 3, "b": 0, "again": 0}
    assert announced == [[m.pk for m in messages]]
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", flat=True)) == {
        "no_report"}
    assert _count_notifications(petugas) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_split_a_large_backlog_without_overlap(require_postgres, announced):
    """Four threads expire 600 messages at once, 100 per call: every message is announced exactly once."""
    thread = services.conversation_for(party_type="test.party", party_id="9", title="Yayasan Banyak",
                                       number="081230900095")
    ids = [sent_message(conversation=thread, kind="broadcast").pk for _ in range(600)]
    later = SENT_AT + timedelta(hours=49)
    start = threading.Barrier(4)

    def worker():
        try:
            start.wait(30)
            while expiry.expire_unreported(now=later, limit=100):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    seen = [pk for batch in announced for pk in batch]
    assert sorted(seen) == sorted(ids)  # each once: no duplicate, none missed
    assert not Message.objects.filter(status=Message.Status.SENT).exists()


# ---------------------------------------------------------------- what the clerk sees


@pytest.fixture
def unreported(thread, petugas, django_capture_on_commit_callbacks):
    message = sent_message(conversation=thread, sender=petugas, text="Mohon konfirmasi kehadiran")
    with django_capture_on_commit_callbacks(execute=True):
        expiry.expire_unreported(now=SENT_AT + timedelta(hours=49))
    return message


TOOLTIP_ID = "Tidak ada laporan pengiriman dari gateway dalam 48 jam: gateway tidak memberi tahu apakah pesan sampai"


@pytest.mark.django_db
def test_pesan_dialog_shows_the_no_report_mark_with_its_reason(petugas_client, thread, unreported):
    body = petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk]), **HX).content.decode()
    assert 'data-testid="mark-no-report"' in body
    assert f'title="{TOOLTIP_ID}"' in body
    assert 'data-testid="mark-delivered"' not in body and 'data-testid="mark-failed"' not in body
    assert 'data-pending="0"' in body  # the dialog stops polling: its fate will not come by itself


@pytest.mark.django_db
def test_message_list_shows_the_mark_and_filters_no_report(petugas_client, thread, unreported):
    services.queue_message(to="081230900095", text="Masih antri", kind="manual", conversation=thread)
    url = reverse("sms:message_list")
    body = petugas_client.get(url).content.decode()
    assert 'data-testid="mark-no-report"' in body and f'title="{TOOLTIP_ID}"' in body
    assert '<option value="no_report" >Tidak ada laporan</option>' in body
    body = petugas_client.get(url, {"status": "no_report"}).content.decode()
    assert "Mohon konfirmasi kehadiran" in body and "Masih antri" not in body
    assert '<option value="no_report" selected>Tidak ada laporan</option>' in body
    assert "1 pesan cocok" in body


@pytest.mark.django_db
def test_message_list_of_one_thread_opens_its_dialog(petugas_client, thread, unreported):
    services.queue_message(to="081230900011", text="Pesan lain", kind="manual")
    body = petugas_client.get(reverse("sms:message_list"), {"thread": thread.pk}).content.decode()
    assert "Mohon konfirmasi kehadiran" in body and "Pesan lain" not in body
    assert f'hx-get="{reverse("sms:conversation_dialog", args=[thread.pk])}" hx-trigger="load"' in body
