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
