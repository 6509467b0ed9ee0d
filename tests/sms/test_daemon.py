"""The worker: claim, send, record, delivery reports, retries, leases, priorities, window, simulator."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from abah.core.formatting import WIB
from abah.sms import services
from abah.sms.backends import locmem
from abah.sms.daemon import Daemon
from abah.sms.models import Message, MessagePart, SimulatorDelivery, WorkerHeartbeat

from .conftest import run_worker

pytestmark = pytest.mark.django_db


def queue(n=1, **extra):
    defaults = {"text": "Halo", "kind": "manual"}
    return [services.queue_message(to=f"0812309{i:05d}", **{**defaults, **extra}) for i in range(1, n + 1)]


def test_queued_to_sent_to_delivered():
    [message] = queue()
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.sent_at and message.attempts == 1 and message.gateway == "default"
    [sms] = locmem.outbox
    assert (sms.id, sms.number, sms.text) == (message.pk, "+6281230900001", "Halo")
    locmem.deliver(sms)
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at


def test_multipart_delivered_only_when_every_part_is_and_worst_part_decides():
    long_text = "x" * 400  # three GSM-7 segments
    first, second = queue(2, text=long_text)
    run_worker()
    sms1, sms2 = sorted(locmem.outbox, key=lambda s: s.id)
    assert len(sms1.part_ids) == 3
    locmem.reports.extend(locmem.DeliveryReport(pid, True) for pid in sms1.part_ids[:2])
    run_worker()
    first.refresh_from_db()
    assert first.status == Message.Status.SENT
    locmem.reports.append(locmem.DeliveryReport(sms1.part_ids[2], True))
    locmem.reports.append(locmem.DeliveryReport(sms2.part_ids[0], True))
    locmem.reports.append(locmem.DeliveryReport(sms2.part_ids[1], False, "absent_subscriber", "Absent subscriber"))
    locmem.reports.append(locmem.DeliveryReport(sms2.part_ids[2], True))
    run_worker()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Message.Status.DELIVERED
    assert second.status == Message.Status.FAILED
    assert second.error_code == "absent_subscriber"
    assert MessagePart.objects.filter(message=second, status="failed").count() == 1


def test_codes_go_first():
    queue(3, kind="broadcast")
    code = services.queue_message(to="081230900099", text="Kode 1234", kind="code")
    Daemon(batch_size=1).claim()
    code.refresh_from_db()
    assert code.status == Message.Status.SENDING
    assert Message.objects.filter(status=Message.Status.QUEUED).count() == 3


def test_send_after_is_respected():
    [later] = queue(send_after=timezone.now() + timedelta(hours=1))
    run_worker()
    later.refresh_from_db()
    assert later.status == Message.Status.QUEUED and not locmem.outbox


def test_send_window_holds_non_urgent_kinds(settings, monkeypatch):
    settings.SMS_SEND_WINDOW = ("08:00", "20:00")
    night = datetime(2026, 1, 5, 22, 30, tzinfo=WIB)
    monkeypatch.setattr(timezone, "now", lambda: night)
    broadcast = services.queue_message(to="081230900001", text="Info", kind="broadcast")
    code = services.queue_message(to="081230900002", text="Kode", kind="code")
    typed = services.queue_message(to="081230900003", text="Halo", kind="manual")
    run_worker()
    assert {sms.id for sms in locmem.outbox} == {code.pk, typed.pk}
    broadcast.refresh_from_db()
    assert broadcast.status == Message.Status.QUEUED


def test_temporary_failure_backs_off_then_fails_after_max_attempts(settings):
    settings.SMS_MAX_ATTEMPTS = 3
    [message] = queue()
    locmem.refuse[message.number] = ("throttled", "Throttled", True)
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and message.attempts == 1
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert message.error_code == "throttled"
    for attempt in (2, 3):
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        run_worker()
        message.refresh_from_db()
        assert message.attempts == attempt
    assert message.status == Message.Status.FAILED and message.error_reason == "Throttled"


def test_backoff_grows_exponentially(settings):
    settings.SMS_RETRY_BACKOFF = (10.0, 35.0)
    [message] = queue()
    locmem.refuse[message.number] = ("down", "Link down", True)
    delays = []
    for _ in range(4):
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        before = timezone.now()
        run_worker()
        message.refresh_from_db()
        delays.append(round((message.next_attempt_at - before).total_seconds()))
    assert delays == [10, 20, 35, 35]


def test_permanent_failure_fails_at_once():
    [message] = queue()
    locmem.refuse[message.number] = ("invalid_dest", "Invalid destination", False)
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.error_reason == "Invalid destination"


def test_gateway_exception_is_temporary_and_loop_survives(settings, monkeypatch):
    [message] = queue()

    def broken(self, messages):
        raise ConnectionError("SMSC unreachable")

    monkeypatch.setattr(locmem.LocmemBackend, "send_messages", broken)
    daemon = Daemon()
    daemon.run(once=True)
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and message.error_reason == "SMSC unreachable"
    beat = WorkerHeartbeat.objects.get(worker=daemon.worker_id)
    assert not beat.gateway_ok and beat.state == "stopped"


def test_expired_lease_goes_back_to_queue_and_is_sent_again():
    [message] = queue()
    dead = Daemon(worker_id="dead-worker", lease_seconds=60)
    assert dead.claim()
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING and message.worker == "dead-worker"
    run_worker()  # the lease has not expired: nobody touches it
    assert not locmem.outbox
    Message.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 2
    assert [sms.id for sms in locmem.outbox] == [message.pk]


def test_late_result_from_a_worker_that_lost_its_lease_does_not_overwrite():
    [message] = queue()
    slow = Daemon(worker_id="slow")
    claimed = slow.claim()
    Message.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    run_worker()  # another worker recovers and sends it
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    slow.record([locmem.SendResult(message.pk, False, error_code="x", error_reason="late")], {message.pk: 1})
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert claimed


def test_inbound_via_worker():
    locmem.receive("+6281230900095", "<script>alert(1)</script>")
    run_worker()
    message = Message.objects.inbound().get()
    assert message.text == "<script>alert(1)</script>" and message.status == Message.Status.RECEIVED


def test_heartbeat_written():
    daemon = Daemon(worker_id="hb")
    daemon.run(once=True)
    beat = WorkerHeartbeat.objects.get(worker="hb")
    assert beat.gateway == "default" and beat.state == "stopped"


def test_worker_query_count_does_not_grow_with_batch():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    Daemon(batch_size=500, worker_id="warm-up").tick()  # what a worker asks once per connection
    for n in (5, 200):
        queue(n)
        daemon = Daemon(batch_size=500, worker_id=f"w{n}")
        with CaptureQueriesContext(connection) as queries:
            daemon.tick(drain=False)
        counts.append(len(queries))
    # The same few whatever the batch: one search-index step, one look for expired reports (a new worker's first
    # round), and per batch the lock on the messages still ours and the look-up of ids an SMSC may give out again.
    assert counts[0] == counts[1] and counts[0] <= 35
    assert Message.objects.filter(status=Message.Status.SENT).count() == 205


class TestSimulator:
    def test_accepts_reports_and_fails_dead_numbers(self, simulator):
        alive = services.queue_message(to="081230900095", text="Halo", kind="manual")
        dead = services.queue_message(to="081230900000", text="Halo", kind="manual")
        run_worker()
        alive.refresh_from_db()
        dead.refresh_from_db()
        assert alive.status == Message.Status.DELIVERED
        assert dead.status == Message.Status.FAILED and dead.error_code == "absent_subscriber"
        assert SimulatorDelivery.objects.filter(client_ref=str(alive.pk)).count() == 1

    def test_reports_wait_for_their_delay(self, settings):
        settings.SMS_GATEWAYS = {"default": {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
                                             "OPTIONS": {"dlr_delay": [3600, 3600]}}}
        [message] = queue()
        run_worker()
        message.refresh_from_db()
        assert message.status == Message.Status.SENT
        SimulatorDelivery.objects.update(due_at=timezone.now())
        run_worker()
        message.refresh_from_db()
        assert message.status == Message.Status.DELIVERED

    def test_throttling_gives_temporary_errors(self, settings):
        settings.SMS_GATEWAYS = {"default": {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
                                             "OPTIONS": {"dlr_delay": 0, "throttle_per_second": 2}}}
        queue(5)
        Daemon(batch_size=5).run(once=True)
        statuses = sorted(Message.objects.values_list("status", flat=True))
        assert statuses.count("delivered") == 2 and statuses.count("queued") == 3

    def test_virtual_phone_reply_arrives_as_inbound(self, simulator, thread):
        from abah.sms.backends.simulator import phone_reply

        phone_reply(number="+6281230900095", text="Siap, terima kasih")
        assert not Message.objects.inbound().exists()  # only the worker brings it in, like a real SMSC
        run_worker()
        message = Message.objects.inbound().get()
        assert message.conversation == thread and message.text == "Siap, terima kasih"


def test_report_before_its_part_is_kept_and_applied_later():
    from django.db import transaction

    from abah.sms.backends.base import DeliveryReport
    from abah.sms.models import UnmatchedReport

    [message] = queue()
    with transaction.atomic():
        services.apply_delivery_reports(gateway="default", reports=[DeliveryReport("EARLY-1", True)])
    assert UnmatchedReport.objects.count() == 1
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT)
    MessagePart.objects.create(message=message, seq=1, gateway="default", gateway_message_id="EARLY-1")
    with transaction.atomic():
        services.retry_unmatched_reports(gateway="default")
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert not UnmatchedReport.objects.exists()


def test_per_gateway_rate_limit_caps_each_claim(settings, monkeypatch):
    """``rate_limit`` in a gateway's OPTIONS is a token bucket: at most that many messages a second."""
    from abah.sms import daemon as daemon_module

    settings.SMS_GATEWAYS = {"default": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend",
                                         "OPTIONS": {"rate_limit": 3}}}
    queue(10)
    clock = [1000.0]
    monkeypatch.setattr(daemon_module.time, "monotonic", lambda: clock[0])
    daemon = Daemon(batch_size=500, worker_id="limited")
    assert len(daemon.claim()) == 3
    assert daemon.claim() == []  # the bucket is empty until time passes
    clock[0] += 0.5
    assert len(daemon.claim()) == 1  # half a second buys 1.5 tokens
    clock[0] += 10
    assert len(daemon.claim()) == 3  # the bucket never holds more than one second's worth
    assert Message.objects.filter(status=Message.Status.SENDING).count() == 7


def test_unlimited_gateway_claims_whole_batches():
    queue(7)
    assert len(Daemon(batch_size=5).claim()) == 5


def test_send_window_boundaries(settings, monkeypatch):
    """08:00 opens the window for automatic kinds, 20:00 closes it (WIB), whatever the server's zone."""
    settings.SMS_SEND_WINDOW = ("08:00", "20:00")
    current = [datetime(2026, 1, 5, 7, 59, 59, tzinfo=WIB)]
    monkeypatch.setattr(timezone, "now", lambda: current[0])
    invitation = services.queue_message(to="081230900001", text="Undangan", kind="invitation")
    run_worker()
    assert not locmem.outbox
    current[0] = datetime(2026, 1, 5, 8, 0, tzinfo=WIB)
    run_worker()
    assert [sms.id for sms in locmem.outbox] == [invitation.pk]
    current[0] = datetime(2026, 1, 5, 20, 0, tzinfo=WIB)
    billing = services.queue_message(to="081230900002", text="Tagihan LPJ", kind="billing")
    run_worker()
    billing.refresh_from_db()
    assert billing.status == Message.Status.QUEUED
    current[0] = datetime(2026, 1, 6, 1, 0, tzinfo=UTC)  # 08:00 WIB
    run_worker()
    billing.refresh_from_db()
    assert billing.status == Message.Status.SENT


def test_sigterm_handler_finishes_the_batch_then_stops():
    """The first SIGTERM/SIGINT lets the current batch finish (no message left SENDING), a second one exits."""
    import signal

    queue(3)
    daemon = Daemon(worker_id="graceful-unit")
    daemon.shutdown(signal.SIGTERM, None)
    assert daemon.running is False
    daemon.run()  # returns at once: the loop checks `running` before each round
    beat = WorkerHeartbeat.objects.get(worker="graceful-unit")
    assert beat.state == "stopped"
    assert not Message.objects.filter(status=Message.Status.SENDING).exists()
    with pytest.raises(SystemExit):
        daemon.shutdown(signal.SIGTERM, None)


def test_lease_recovery_fails_messages_out_of_attempts(settings):
    settings.SMS_MAX_ATTEMPTS = 2
    first, second = queue(2)
    Message.objects.filter(pk=first.pk).update(status=Message.Status.SENDING, attempts=2, worker="dead",
                                               lease_until=timezone.now() - timedelta(seconds=1))
    Message.objects.filter(pk=second.pk).update(status=Message.Status.SENDING, attempts=1, worker="dead",
                                                lease_until=timezone.now() - timedelta(seconds=1))
    assert Daemon().recover_leases(force=True) == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.error_code) == (Message.Status.FAILED, "attempts")
    assert (second.status, second.error_code, second.worker) == (Message.Status.QUEUED, "lease_expired", "")
