"""The worker's hot path stays cheap (issue 12: ``make bench`` must not drop), and the fault paths it keeps
apart still hold: a result held through an outage while the lease ran out is recorded, one another worker
took meanwhile is not."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from abah.sms import services
from abah.sms.backends.base import SendResult
from abah.sms.daemon import Daemon
from abah.sms.models import Message, MessagePart

pytestmark = pytest.mark.django_db


def queue(n: int) -> list[Message]:
    return [services.queue_message(to=f"+62812300{i:05d}", text=f"Pesan {i}", kind="manual") for i in range(n)]


def claimed(daemon: Daemon) -> dict[int, int]:
    return {pk: attempts for pk, _number, _text, attempts in daemon.claim()}


def marking_statements(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "sms_message" SET "sent_at"')]


def test_marking_accepted_messages_is_one_plain_statement_per_status():
    """Before: one UPDATE with ``(status = 'sending' AND worker = …) OR status = 'queued'``, which PostgreSQL
    ran as a BitmapOr reading the whole partial claim index (all queued messages) for every batch: the
    simulator benchmark fell from ~4,500 to ~2,800 msg/s, the SMPP one by more."""
    messages = queue(30)
    daemon = Daemon(worker_id="w1", batch_size=100)
    attempts = claimed(daemon)
    results = [SendResult(m.pk, True, [f"id-{m.pk}"]) for m in messages]
    with CaptureQueriesContext(connection) as queries:
        daemon.record(results, attempts)
    statements = marking_statements(queries.captured_queries)
    assert len(statements) == 1, statements
    assert " OR " not in statements[0].upper()
    assert Message.objects.filter(status=Message.Status.SENT, worker="w1").count() == 30
    assert MessagePart.objects.count() == 30


def test_a_result_held_while_the_lease_ran_out_is_still_recorded():
    """The database was away longer than the lease: another worker put the messages back in the queue. The
    gateway has them all the same: they are marked sent with their parts, never sent again."""
    first, second = queue(2)
    daemon = Daemon(worker_id="w1")
    attempts = claimed(daemon)
    Message.objects.filter(pk=second.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert Daemon(worker_id="w2").recover_leases(force=True) == 1
    assert Message.objects.get(pk=second.pk).status == Message.Status.QUEUED
    daemon.record([SendResult(first.pk, True, ["a1"]), SendResult(second.pk, True, ["a2"])], attempts)
    for message, gid in ((first, "a1"), (second, "a2")):
        message.refresh_from_db()
        assert message.status == Message.Status.SENT and message.gateway == "default" and message.sent_at
        assert list(MessagePart.objects.filter(message=message).values_list("gateway_message_id", flat=True)) == [gid]


def test_a_result_for_a_message_another_worker_took_meanwhile_is_not_recorded():
    first, second = queue(2)
    daemon = Daemon(worker_id="w1")
    attempts = claimed(daemon)
    Message.objects.filter(pk=second.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    other = Daemon(worker_id="w2")
    other.recover_leases(force=True)
    assert [row[0] for row in other.claim()] == [second.pk]
    daemon.record([SendResult(first.pk, True, ["b1"]), SendResult(second.pk, True, ["b2"])], attempts)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Message.Status.SENT
    assert second.status == Message.Status.SENDING and second.worker == "w2"  # the other worker's to record
    assert not MessagePart.objects.filter(message=second).exists()


def test_update_ids_prepares_values_keeps_to_its_conditions_and_chunks(monkeypatch):
    from abah.sms import dbutil

    monkeypatch.setitem(dbutil.ANY_CHUNK, connection.vendor, 7)  # several statements for 20 ids
    monkeypatch.setattr(dbutil, "DEFAULT_ANY_CHUNK", 7)
    messages = queue(20)
    mine = [m.pk for m in messages[:15]]
    Message.objects.filter(pk__in=mine).update(status=Message.Status.SENDING, worker="w1")
    Message.objects.filter(pk=messages[3].pk).update(worker="w2")  # someone else's now
    now = timezone.now()
    changed = dbutil.update_ids(Message, [m.pk for m in messages],
                                {"status": Message.Status.SENT, "sent_at": now, "lease_until": None},
                                status=Message.Status.SENDING, worker="w1")
    assert changed == 14
    sent = Message.objects.filter(status=Message.Status.SENT)
    assert sorted(sent.values_list("pk", flat=True)) == sorted(set(mine) - {messages[3].pk})
    assert {m.sent_at for m in sent} == {now} and {m.lease_until for m in sent} == {None}
    assert dbutil.update_ids(Message, [], {"status": Message.Status.SENT}) == 0
    # One of several values: SENT or NO_REPORT become DELIVERED in one statement; QUEUED and SENDING stay.
    Message.objects.filter(pk=messages[0].pk).update(status=Message.Status.NO_REPORT)
    changed = dbutil.update_ids(Message, [m.pk for m in messages], {"status": Message.Status.DELIVERED},
                                status=Message.SETTLEABLE_STATUSES)
    assert changed == 14
    assert Message.objects.filter(status=Message.Status.DELIVERED).count() == 14
    assert Message.objects.filter(status=Message.Status.QUEUED).count() == 5
    assert Message.objects.get(pk=messages[3].pk).status == Message.Status.SENDING


def test_the_recorder_takes_only_its_windows_receipts():
    """The receipts of other windows (not recorded yet) keep their place for the next poll, untouched: before,
    the recorder polled them all and handed the others back, on every window."""
    from abah.sms.backends.base import DeliveryReport
    from abah.sms.backends.smpp import SmppBackend

    backend = SmppBackend(host="127.0.0.1", port=1, system_id="x", password="y")  # never opened
    waiting = [DeliveryReport(f"g{i}", True) for i in range(6)]
    backend.reports.extend((report, (None, 0, i)) for i, report in enumerate(waiting))
    taken = backend.take_reports({"g1", "g4", "unknown"})
    assert taken == [waiting[1], waiting[4]]
    assert [report for report, _token in backend.reports] == [waiting[0], waiting[2], waiting[3], waiting[5]]
    backend.release(taken, [])  # not committed: handed out again by the next poll
    reports, inbound = backend.poll()
    assert sorted(r.gateway_message_id for r in reports) == [f"g{i}" for i in range(6)] and inbound == []


def recorded(n: int, daemon: Daemon, parts=1) -> list[Message]:
    messages = queue(n)
    attempts = claimed(daemon)
    daemon.record([SendResult(m.pk, True, [f"id-{m.pk}-{seq}" for seq in range(parts)] if parts > 1 else [f"id-{m.pk}"])
                   for m in messages], attempts)
    return messages


def apply(daemon: Daemon, reports, **kwargs):
    """What poll() does with the reports it took: the recent ones by id, the rest through the general path."""
    from django.db import transaction

    with transaction.atomic():
        rest = daemon._apply_recent(reports, timezone.now())
        if rest:
            services.apply_delivery_reports(gateway=daemon.gateway, reports=rest)


def test_receipts_of_just_recorded_messages_are_written_by_id():
    """Before: every receipt after its window was recorded looked its part up by gateway id and counted the parts of
    its message: 40 µs of CPU per receipt, a sixth of the SMPP worker's time (bench sms_gateways)."""
    from abah.sms.backends.base import DeliveryReport

    daemon = Daemon(worker_id="w1", batch_size=100)
    messages = recorded(30, daemon)
    with CaptureQueriesContext(connection) as queries:
        apply(daemon, [DeliveryReport(f"id-{m.pk}", True) for m in messages])
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in statements if "gateway_message_id" in sql], statements  # no look-up by gateway id
    assert Message.objects.filter(status=Message.Status.DELIVERED, delivered_at__isnull=False).count() == 30
    assert MessagePart.objects.filter(status=MessagePart.Status.DELIVERED).count() == 30
    assert not daemon._recent  # each id is written once


def test_failures_long_texts_repeats_and_expired_messages_stay_right():
    from abah.sms.backends.base import DeliveryReport

    daemon = Daemon(worker_id="w1", batch_size=100)
    single = recorded(3, daemon)
    long = recorded(1, daemon, parts=2)[0]
    Message.objects.filter(pk=single[2].pk).update(status=Message.Status.NO_REPORT)  # expired: a late receipt wins
    apply(daemon, [DeliveryReport(f"id-{single[0].pk}", False, "undeliv", "Undeliverable"),
                   DeliveryReport(f"id-{single[1].pk}", True), DeliveryReport(f"id-{single[1].pk}", True),
                   DeliveryReport(f"id-{single[2].pk}", True),
                   DeliveryReport(f"id-{long.pk}-0", True)])
    states = dict(Message.objects.values_list("pk", "status"))
    assert states[single[0].pk] == Message.Status.FAILED
    assert states[single[1].pk] == Message.Status.DELIVERED
    assert states[single[2].pk] == Message.Status.DELIVERED
    assert states[long.pk] == Message.Status.SENT  # one part of two
    apply(daemon, [DeliveryReport(f"id-{long.pk}-1", True)])
    assert Message.objects.get(pk=long.pk).status == Message.Status.DELIVERED


def test_a_receipt_not_committed_is_still_applied_later():
    from django.db import transaction

    from abah.sms.backends.base import DeliveryReport

    daemon = Daemon(worker_id="w1", batch_size=100)
    message = recorded(1, daemon)[0]
    report = DeliveryReport(f"id-{message.pk}", True)
    with pytest.raises(RuntimeError), transaction.atomic():
        daemon._apply_recent([report], timezone.now())
        raise RuntimeError("the database went away before the commit")
    assert Message.objects.get(pk=message.pk).status == Message.Status.SENT
    apply(daemon, [report])  # handed out again by the gateway: the general path finds it
    assert Message.objects.get(pk=message.pk).status == Message.Status.DELIVERED


def smpp_daemon(worker_id: str = "w1", claim: int = 0):
    """A worker that claimed ``claim`` new messages, then given an SMPP backend that is never opened (receipts
    are put in its queue by hand); (daemon, messages, attempts)."""
    from abah.sms.backends.smpp import SmppBackend

    daemon = Daemon(worker_id=worker_id, batch_size=100)
    messages = queue(claim)
    attempts = claimed(daemon) if claim else {}
    daemon.backend = SmppBackend(host="127.0.0.1", port=1, system_id="x", password="y")
    return daemon, messages, attempts


def arrive(daemon: Daemon, reports) -> None:
    daemon.backend.reports.extend((report, (None, 0, i)) for i, report in enumerate(reports))


def test_a_streamed_batch_writes_each_message_once_with_its_receipts():
    """Before: every streamed window marked its messages SENT, and their receipts (a fast SMSC answers within
    milliseconds, just after the window) marked them DELIVERED a second time: each message written three times
    (claim, sent, delivered) where the whole-batch recording of c18fdd5 wrote it twice, and ``bench sms_gateways``
    fell 22–31 % on PostgreSQL. Now a window writes only its parts (what makes a message accepted), and the batch
    end marks every message once, with the receipts that came meanwhile."""
    from abah.sms.backends.base import DeliveryReport

    daemon, messages, attempts = smpp_daemon(claim=30)
    windows = [messages[:10], messages[10:20], messages[20:]]
    with CaptureQueriesContext(connection) as queries:
        for i, window in enumerate(windows):
            daemon.record([SendResult(m.pk, True, [f"id-{m.pk}"]) for m in window], attempts, defer=True)
            # the receipts of this window come right after it was written (the last one's never come)
            if i < 2:
                arrive(daemon, [DeliveryReport(f"id-{m.pk}", True) for m in window[:-1]]
                       + [DeliveryReport(f"id-{window[-1].pk}", False, "undeliv", "Undeliverable")])
    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "sms_message"')]
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENDING}
    assert MessagePart.objects.count() == 30
    with CaptureQueriesContext(connection) as queries:
        assert daemon.finish_accepted() == 30
    assert len(marking_statements(queries.captured_queries)) == 2  # one per status, whatever the number of windows
    states = dict(Message.objects.values_list("pk", "status"))
    delivered = [m.pk for window in windows[:2] for m in window[:-1]]
    assert all(states[pk] == Message.Status.DELIVERED for pk in delivered)
    assert states[windows[0][-1].pk] == states[windows[1][-1].pk] == Message.Status.FAILED
    assert all(states[m.pk] == Message.Status.SENT for m in windows[2])
    assert not daemon._accepted and not daemon.backend.reports
    assert daemon.sent_total == 30
    # A receipt that comes after the batch end goes the usual way.
    arrive(daemon, [DeliveryReport(f"id-{windows[2][0].pk}", True)])
    daemon.poll()
    assert Message.objects.get(pk=windows[2][0].pk).status == Message.Status.DELIVERED


def test_a_worker_stopped_between_its_window_and_the_batch_end_never_sends_it_again():
    """The window's parts are written, the worker dies before the batch end: when its lease runs out, the
    messages with parts are sent (settled by their receipts), only those without are queued again."""
    from abah.sms.backends.base import DeliveryReport

    daemon, messages, attempts = smpp_daemon(claim=4)
    daemon.record([SendResult(m.pk, True, [f"id-{m.pk}"]) for m in messages[:2]], attempts, defer=True)
    arrive(daemon, [DeliveryReport(f"id-{messages[0].pk}", True)])
    daemon.record([SendResult(messages[2].pk, True, [f"id-{messages[2].pk}"])], attempts, defer=True)
    Message.objects.update(lease_until=timezone.now() - timedelta(seconds=1))  # the worker is gone
    assert Daemon(worker_id="w2").recover_leases(force=True) == 4
    states = dict(Message.objects.values_list("pk", "status"))
    assert [states[m.pk] for m in messages] == [Message.Status.SENT, Message.Status.SENT, Message.Status.SENT,
                                                Message.Status.QUEUED]
    # The receipt the dead worker never acknowledged comes again from the SMSC: it settles its message.
    other = smpp_daemon("w2")[0]
    arrive(other, [DeliveryReport(f"id-{messages[0].pk}", True)])
    other.poll()
    assert Message.objects.get(pk=messages[0].pk).status == Message.Status.DELIVERED


def test_a_receipt_another_worker_applies_before_the_batch_end_settles_the_message():
    """Two workers bound to one SMSC: a receipt may reach the other one while the message is written as accepted
    (its parts) and not yet marked. Before, its message stayed SENDING there and the batch end then marked it SENT:
    delivered, but "sent" until expiry called it "no report" (a fault run with two workers left 26 such)."""
    from django.db import transaction

    from abah.sms.backends.base import DeliveryReport

    daemon, messages, attempts = smpp_daemon(claim=2)
    daemon.record([SendResult(m.pk, True, [f"id-{m.pk}"]) for m in messages], attempts, defer=True)
    with transaction.atomic():  # the other worker's poll
        services.apply_delivery_reports(gateway=daemon.gateway, reports=[
            DeliveryReport(f"id-{messages[0].pk}", True),
            DeliveryReport(f"id-{messages[1].pk}", False, "undeliv", "Undeliverable")])
    first, second = Message.objects.get(pk=messages[0].pk), Message.objects.get(pk=messages[1].pk)
    assert (first.status, second.status) == (Message.Status.DELIVERED, Message.Status.FAILED)
    assert first.sent_at and first.delivered_at and first.lease_until is None
    assert daemon.finish_accepted() == 2
    assert dict(Message.objects.values_list("pk", "status")) == {first.pk: Message.Status.DELIVERED,
                                                                 second.pk: Message.Status.FAILED}
