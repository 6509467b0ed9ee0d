"""The SMS daemon: claims due messages in batches under a lease, sends them, records results and reports.

Any number of daemons on any number of machines share one queue. On PostgreSQL the claim is
``SELECT … FOR UPDATE SKIP LOCKED``; on SQLite the IMMEDIATE transaction mode serialises writers.
A daemon that dies leaves its claimed rows in SENDING; once their lease expires any daemon marks those
whose parts are written SENT (the gateway took them: a streamed window writes its parts at once, and its
messages are marked together at the end of the batch) and puts the others back in the queue (the attempt
is counted: the gateway may have accepted them, which is the one case where a duplicate is possible —
every delivery protocol has it).

Several gateways: each daemon drives one gateway (``smsd --gateway NAME``). SMS_ROUTES gives each message
kind an ordered list of gateways; a daemon claims the kinds for which its gateway is the first one up
(its own link, and for the others their workers' heartbeats). A claimed message carries the gateway's
name from the claim on, so a message that may have reached a gateway (claimed by a worker that died,
or submitted without an answer) is retried only there; only a definite "not sent" clears the name and
lets another gateway take it. A message whose gateway accepted it (SENT, with its part ids) is never
sent again by anyone.
"""

import logging
import os
import queue
import signal
import socket
import threading
import time
import uuid
from collections import OrderedDict
from datetime import timedelta

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from abah.core.text import clean_text

from . import conf, expiry, search, services
from .backends import get_backend
from .backends.base import GatewayUnavailable, OutgoingSMS, SendResult
from .dbutil import any_chunk, db_datetime, in_list, insert_rows, update_ids
from .models import Message, MessagePart, UnmatchedReport, WorkerHeartbeat

log = logging.getLogger("abah.sms.daemon")
PART_FIELDS = ["message_id", "seq", "gateway", "gateway_message_id", "status", "error_code", "error_reason", "updated_at"]

HEARTBEAT_SECONDS = 2.0
RECOVERY_SECONDS = 1.0
# Single-part messages whose receipt the worker writes by id (_apply_recent): a few minutes of sending.
RECENT_PARTS = 50_000
HEALTH_SECONDS = 1.0  # how often a worker asks its gateway for its state and reads the others' heartbeats
NOTHING = Q(pk__in=[])
TAKE_BACK_SECONDS = 5.0  # how often a worker whose modem is down looks for messages to take back
INDEX_BATCH = 1000  # new messages moved into the search index per step (sms.search.flush)
INDEX_SECONDS = 5.0  # while the queue stays busy, the search index still catches up this often
# A streamed window's messages are written as accepted (their parts) at once, and marked SENT or DELIVERED together
# at the end of the batch, or this often while a batch lasts (Daemon.finish_accepted).
FINISH_SECONDS = 1.0
EXPIRY_SECONDS = 60.0  # how often a worker looks for sent messages whose report never came (sms.expiry)
FAULT_BACKOFF = (0.5, 15.0)  # first and longest pause after a fault (database away, a bug): doubling in between


def is_outage(error: BaseException) -> bool:
    """The database is away or refused the transaction as a whole (connection lost, server restarting, SQLite
    locked, serialization failure, deadlock): wait and try again; nothing about one message is wrong."""
    driver = getattr(connection, "Database", None)
    kinds = (OperationalError, InterfaceError)
    if driver is not None:
        kinds += (driver.OperationalError, driver.InterfaceError)
    return isinstance(error, kinds)


def describe(error: BaseException) -> str:
    """An exception in one line of words (a driver's message may span several)."""
    text = " ".join(str(error).split())
    return f"{error.__class__.__name__}: {text}"[:255] if text else error.__class__.__name__


def _commits_async() -> bool:
    """Whether this thread's PostgreSQL session commits without waiting for the disk (see _commit_async)."""
    raw = connection.connection
    return raw is not None and getattr(connection, "abah_async_session", None) is raw


def _commit_without_waiting() -> None:
    """In the transaction that records what a gateway accepted: its commit need not wait for the disk. Should the
    database server itself crash within the next fraction of a second, these answers are lost and the messages sent
    again (never lost). Inbound messages are stored by poll(), whose commit always waits for the disk."""
    if connection.vendor == "postgresql" and not _commits_async():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _drop_connection() -> None:
    """Close this thread's database connection after a fault; the next query opens a new one. A connection that is
    already broken cannot be closed cleanly, and that is fine."""
    try:
        connection.close()
    except Exception:  # noqa: S110
        pass


def _commit_async() -> None:
    """The recorder's own PostgreSQL session commits without waiting for the disk, for every transaction (one
    statement per session instead of a SET LOCAL per window; see _commit_without_waiting for why that is safe). Set again
    on each new session; a database that cannot be reached now is left for _record_or_hold to hold through."""
    if connection.vendor != "postgresql" or _commits_async():
        return
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        connection.abah_async_session = connection.connection
    except DatabaseError:
        pass


class Recorder:
    """Records the windows a streaming gateway (SMPP) accepted while the sender goes on submitting: a thread
    with its own database connection, at most ``depth`` windows behind. A worker killed at any moment has
    then at most a few windows submitted and not recorded (the only possible duplicates), and recording
    costs the sender little time. Whatever waits when the recorder is free goes into one transaction; the
    gateway is told when it is written (``recorded``), which frees its window."""

    def __init__(self, daemon: "Daemon", depth: int = 3, settle_seconds: float = 0.0):
        self.daemon = daemon
        self.settle_seconds = settle_seconds
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self.run, name=f"smsd-recorder-{daemon.gateway}", daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            stop = False
            while not stop:
                items = [self.queue.get()]
                try:
                    if items[0] is not None:
                        wait = items[0][2] + self.settle_seconds - time.monotonic()
                        if wait > 0:
                            time.sleep(wait)
                    while True:  # everything else waiting by now goes into the same transaction
                        try:
                            items.append(self.queue.get_nowait())
                        except queue.Empty:
                            break
                    stop = any(item is None for item in items)
                    windows = [item for item in items if item is not None]
                    if windows:
                        results = [result for window in windows for result in window[0]]
                        attempts = {pk: n for window in windows for pk, n in window[1].items()}
                        try:
                            _commit_async()
                            self.daemon._record_or_hold(results, attempts, defer=True)
                        finally:  # written, or held through a fault: either way the window moves on
                            self.daemon.backend.recorded(results)
                        self.daemon.finish_accepted(due_only=True)
                except Exception:  # _record_or_hold holds what it could not write; this is a bug: keep going
                    log.exception("worker %s: recording a window failed", self.daemon.worker_id)
                finally:
                    for _item in items:
                        self.queue.task_done()
        finally:
            connection.close()  # this thread's own connection

    def put(self, results: list[SendResult], attempts: dict[int, int]) -> None:
        self.queue.put((results, attempts, time.monotonic()))  # blocks while the recorder is depth windows behind

    def drain(self) -> None:
        self.queue.join()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)


class _Either:
    """``x in _Either(a, b)``: in a or in b (without building their union)."""

    def __init__(self, *collections):
        self.collections = collections

    def __contains__(self, item) -> bool:
        return any(item in collection for collection in self.collections)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RateLimiter:
    """Token bucket: at most ``rate`` messages per second per gateway in this process (0: unlimited)."""

    def __init__(self, rate: float):
        self.rate = float(rate or 0)
        self.tokens = self.rate
        self.stamp = time.monotonic()

    def take(self, wanted: int) -> int:
        if not self.rate:
            return wanted
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted


class Daemon:
    def __init__(self, *, gateway: str = "default", batch_size: int = 500, lease_seconds: float = 60.0,
                 interval: float = 0.5, worker_id: str = "", stdout=None):
        if gateway == "default" and gateway not in conf.gateways():
            gateway = conf.default_gateway()
        self.gateway = gateway
        conf.routes()  # a route naming an unknown gateway stops the worker here, in words
        conf.warm_calendar()  # the holidays are built now, not on the first claim
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.interval = interval
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stdout = stdout
        self.running = True
        self.backend = get_backend(gateway)
        self.limiter = RateLimiter(self.backend.options.get("rate_limit", 0))
        self.started_at = timezone.now()
        self.sent_total = 0
        self.gateway_ok, self.gateway_error = True, ""
        self._last_heartbeat = 0.0
        self._last_recovery = 0.0
        self._last_index = 0.0
        self._last_unmatched = 0.0
        self._last_expiry = -EXPIRY_SECONDS
        self._signals = 0
        self._opened = False
        self._health = (False, "not checked yet")
        self._health_at = -HEALTH_SECONDS
        self._others_up: set[str] = set()
        self._others_at = -HEALTH_SECONDS
        self._down_since = None
        self._last_take_back = -TAKE_BACK_SECONDS
        # Results the gateway gave that could not be committed yet (the database went away): recorded first
        # thing once it is back, so a message the gateway took is never sent again because we forgot it.
        self._unrecorded: list[tuple[list[SendResult], dict[int, int]]] = []
        self._faults = 0  # faults in a row: the pause doubles with each
        self._fault_since = None
        self.last_error, self.last_error_at = "", None
        self._watch_since = time.monotonic()  # other gateways count as down only after a grace of watching
        self._recorder: Recorder | None = None
        # Messages of streamed windows whose parts are written (the gateway took them) and that are still SENDING:
        # marked SENT or DELIVERED together by finish_accepted (the recorder thread, or the sender once the
        # recorder is idle; never both at once).
        self._accepted: list[int] = []
        self._accepted_since = 0.0
        # gateway id → message id of the single-part messages this worker recorded as SENT most recently: their
        # "delivered" receipts are written by id, without looking the parts up (see _apply_recent).
        self._recent: OrderedDict[str, int] = OrderedDict()

    # ------------------------------------------------------------ lifecycle

    def shutdown(self, signum, frame):
        self._signals += 1
        if self._signals > 1:
            raise SystemExit(1)  # a second Ctrl-C: stop now, the lease will bring the batch back
        log.info("stopping after the current batch (signal %s)", signum)
        self.running = False

    def run(self, *, once: bool = False, exit_when_idle: bool = False, max_seconds: float | None = None) -> None:
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self.shutdown)
        deadline = time.monotonic() + max_seconds if max_seconds else None
        idle_rounds = 0
        self.backend.open()  # a misconfigured gateway (wrong schema version …) stops the daemon here, in words
        self._opened = True
        self._watch_since = time.monotonic()
        try:
            self.heartbeat(force=True)  # the other gateways' workers route by these heartbeats: announce at once
        except Exception as error:
            self._fault(error, pause=False)
        try:
            while self.running:
                if not connection.in_atomic_block:  # a caller's transaction (tests) must keep its connection
                    close_old_connections()
                try:
                    done = self.tick(drain=once)
                    if exit_when_idle and not done:
                        busy = Message.objects.filter(status__in=[Message.Status.QUEUED, Message.Status.SENDING,
                                                                  ]).exists() or bool(self._unrecorded)
                        idle_rounds = 0 if busy else idle_rounds + 1
                except Exception as error:
                    if connection.in_atomic_block:  # a caller's transaction cannot be resumed: theirs to handle
                        raise
                    self._fault(error)
                    done = 0
                else:
                    self._recovered()
                if once and not self._unrecorded:
                    break
                if deadline and time.monotonic() > deadline:
                    break
                if done:
                    idle_rounds = 0
                    continue
                if exit_when_idle and idle_rounds >= 2:
                    break
                self._sleep(self.interval)
        finally:
            for sig, handler in previous.items():  # the caller's handlers again (a test runner's Ctrl-C)
                signal.signal(sig, handler)
            if self._recorder is not None:
                self._recorder.stop()
                self._recorder = None
            self.backend.close()
            try:
                self.heartbeat(state="stopped", force=True)
            except Exception as error:  # the database is away: the status page will see the heartbeat go stale
                log.warning("could not record that worker %s stopped: %s", self.worker_id, describe(error))

    # ------------------------------------------------------------ faults

    def _fault(self, error: BaseException, *, pause: bool = True) -> None:
        """Survive a fault: log it once per outage (with its traceback when it is not the database being away),
        drop the connection so the next round opens a new one, and wait, longer after each fault in a row."""
        outage = is_outage(error)
        words = describe(error)
        self._faults += 1
        now = timezone.now()
        if self._faults == 1:
            self._fault_since = time.monotonic()
            if outage:
                log.warning("database unavailable (%s); worker %s keeps running and retries%s", words, self.worker_id,
                            f", holding the results of {self._held()} message(s)" if self._unrecorded else "")
            else:
                log.exception("worker %s: unexpected error, retrying: %s", self.worker_id, words)
        elif not outage:
            log.error("worker %s: error again (%d in a row): %s", self.worker_id, self._faults, words)
        self.last_error = (("Database unavailable: " if outage else "") + words)[:255]
        self.last_error_at = now
        self.gateway_ok = self.gateway_ok  # the gateway is not at fault
        self._last_heartbeat = 0.0  # tell the status page as soon as the database takes writes again
        _drop_connection()
        if pause:
            first, longest = FAULT_BACKOFF
            self._sleep(min(longest, first * 2 ** min(self._faults - 1, 10)))

    def _recovered(self) -> None:
        if not self._faults:
            return
        log.warning("worker %s running normally again after %.1f s (%d failed round(s))", self.worker_id,
                    time.monotonic() - (self._fault_since or time.monotonic()), self._faults)
        self._faults, self._fault_since = 0, None

    def _held(self) -> int:
        return sum(len(results) for results, _attempts in self._unrecorded)

    def flush_unrecorded(self) -> int:
        """Record the results held through a fault, oldest first. Raises (and keeps them) while it still fails."""
        done = self.finish_accepted()
        while self._unrecorded:
            results, attempts = self._unrecorded[0]
            self.record(results, attempts)
            self._unrecorded.pop(0)
            done += len(results)
        if done:
            log.warning("worker %s: recorded the results of %d message(s) held through a fault", self.worker_id, done)
        return done

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.running and time.monotonic() < end:
            time.sleep(min(0.1, end - time.monotonic()))

    def tick(self, *, drain: bool = False) -> int:
        """One round: recover dead leases, send due batches, apply reports. Returns how much was done."""
        done = self.flush_unrecorded()  # before anything else: what the gateway took must not be sent again
        done += self.recover_leases()
        done += self.take_back()
        # Bounded: a few batches, then reports, so a long queue never starves delivery reports.
        queue_empty = False
        for _ in range(1000 if drain else 8):
            claimed = self.claim()
            if not claimed:
                queue_empty = True
                break
            self.send(claimed)
            done += len(claimed)
            done += self.poll()
            self.heartbeat()
            if not self.running:
                break
        for _ in range(1000 if drain else 4):
            polled = self.poll()
            done += polled
            if not polled:
                break
        done += self.index(drain=drain, queue_empty=queue_empty)
        done += self.expire()
        self.heartbeat()
        return done

    def expire(self) -> int:
        """About once a minute: sent messages without a final report after the configured hours become "no
        report" (the clerk sees why, the person responsible is told); a late receipt still settles them."""
        now_mono = time.monotonic()
        if now_mono - self._last_expiry < EXPIRY_SECONDS:
            return 0
        self._last_expiry = now_mono
        from abah.notifications.failed import sweep  # failed texts reach a person (bundled, each told once)

        return expiry.expire_unreported() + sweep()

    def index(self, *, drain: bool = False, queue_empty: bool = True) -> int:
        """Move new messages into the search index (sms.search): when nothing is due to be sent, or every
        INDEX_SECONDS while the queue stays busy, so indexing never delays sending and still catches up."""
        now_mono = time.monotonic()
        if not (drain or queue_empty or now_mono - self._last_index >= INDEX_SECONDS):
            return 0
        self._last_index = now_mono
        moved = total = 0
        for _ in range(1000 if drain else 1):
            moved = search.flush(INDEX_BATCH)
            total += moved
            if moved < INDEX_BATCH:
                break
        return total

    # ------------------------------------------------------------ the queue

    def recover_leases(self, *, force: bool = False) -> int:
        now_mono = time.monotonic()
        if not force and now_mono - self._last_recovery < RECOVERY_SECONDS:
            return 0
        self._last_recovery = now_mono
        now = timezone.now()
        expired = Message.objects.filter(status=Message.Status.SENDING, lease_until__lt=now)
        with transaction.atomic():
            # Parts written: the gateway took it (a worker stopped between its window and finish_accepted). It is
            # sent, never again; its receipts, already written or still to come, settle it.
            accepted = list(expired.filter(Exists(MessagePart.objects.filter(message=OuterRef("pk"))))
                            .values_list("id", flat=True))
            if accepted:
                update_ids(Message, accepted, {"status": Message.Status.SENT, "sent_at": now, "lease_until": None,
                                               "worker": "", "error_code": "", "error_reason": ""},
                           status=Message.Status.SENDING)
                services.emit_status_changes([(pk, Message.Status.SENDING, Message.Status.SENT) for pk in accepted])
                services.settle_messages(accepted, now=now)
                log.warning("recovered %d expired lease(s) of message(s) the gateway had accepted: marked sent",
                            len(accepted))
            failed = expired.filter(attempts__gte=conf.max_attempts()).update(
                status=Message.Status.FAILED, failed_at=now, lease_until=None, worker="",
                error_code="attempts", error_reason="Too many attempts",
            )
            requeued = expired.update(
                status=Message.Status.QUEUED, lease_until=None, worker="", next_attempt_at=now,
                error_code="lease_expired", error_reason="The worker stopped before recording the result",
            )
        if requeued or failed:
            log.warning("recovered %d expired lease(s), %d out of attempts", requeued, failed)
        return requeued + failed + len(accepted)

    def _due(self, now):
        due = Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now)
        window = conf.send_window()  # cached a few seconds (conf.WINDOW_CACHE_SECONDS)
        if not window.open_at(now):  # outside the hours, on a day off or a holiday: only the exempt kinds
            due = due.filter(kind__in=window.exempt_kinds)
        return due

    def claim(self) -> list[tuple]:
        """Take up to batch_size due messages under a lease; (id, number, text, attempts) each."""
        route = self.route_filter()
        if route is NOTHING:
            return []
        wanted = self.limiter.take(self.batch_size)
        if not wanted:
            return []
        now = timezone.now()
        skip = {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}
        with transaction.atomic():
            due = self._due(now)
            if route is not None:
                due = due.filter(route)
            rows = list(
                due
                .order_by("-priority", "next_attempt_at", "id")  # matches the partial index sms_msg_claim
                .select_for_update(**skip)
                .values_list("id", "number", "text", "attempts")[:wanted]
            )
            if rows:
                Message.objects.filter(id__any=[r[0] for r in rows]).update(
                    status=Message.Status.SENDING, lease_until=now + self.lease, worker=self.worker_id,
                    attempts=F("attempts") + 1, gateway=self.gateway,
                )
        if len(rows) < wanted:
            self.limiter.tokens += wanted - len(rows) if self.limiter.rate else 0
        return [(pk, number, text, attempts + 1) for pk, number, text, attempts in rows]

    def send(self, claimed: list[tuple]) -> None:
        batch = [OutgoingSMS(pk, number, text, attempts) for pk, number, text, attempts in claimed]
        attempts = {pk: tries for pk, _n, _t, tries in claimed}
        streamed: set[int] = set()
        # A caller's transaction (tests) is invisible to another connection: record in this thread then.
        recorder = None
        if not connection.in_atomic_block and getattr(self.backend, "streams_results", False):
            recorder = self._recorder = self._recorder or Recorder(self)

        def on_results(results: list[SendResult]) -> None:
            """A window the gateway accepted, recorded now (a crash then repeats a window or two, not the batch)."""
            streamed.update(r.id for r in results)
            if recorder is not None:
                recorder.put(results, attempts)
            else:
                try:
                    self._record_or_hold(results, attempts)
                finally:
                    self.backend.recorded(results)

        try:
            if getattr(self.backend, "streams_results", False):
                results = self.backend.send_messages(batch, on_results=on_results)
            else:
                results = self.backend.send_messages(batch)
            self.gateway_ok, self.gateway_error = True, ""
        except Exception as error:  # the gateway is down: everything in the batch is retried later
            log.exception("gateway %s failed on a batch of %d", self.gateway, len(batch))
            self.gateway_ok, self.gateway_error = False, str(error)[:255]
            self._health_at = -HEALTH_SECONDS  # ask the gateway again before the next claim
            # Only a backend that says so is sure nothing reached the gateway; otherwise stay on this gateway.
            handed = not isinstance(error, GatewayUnavailable)
            results = [SendResult(m.id, False, error_code="gateway_error", error_reason=str(error)[:255],
                                  temporary=True, handed_over=handed) for m in batch]
        if recorder is not None:
            recorder.drain()  # in order: the streamed windows first
            self.finish_accepted()
        answered = {r.id for r in results} | streamed
        results += [SendResult(m.id, False, error_code="no_answer", error_reason="The gateway gave no answer",
                               temporary=True, handed_over=True) for m in batch if m.id not in answered]
        self._record_or_hold(results, attempts)
        if self._unrecorded:
            self.flush_unrecorded()  # raises while the database is still away: the run loop waits and retries

    def _record_or_hold(self, results: list[SendResult], attempts: dict[int, int], *, defer: bool = False) -> None:
        """Record the gateway's answers; when the database is away, hold them (in order) until it is back.
        ``defer``: see _record_accepted (held answers are recorded whole later)."""
        if not results:
            return
        if self._unrecorded:
            self._unrecorded.append((results, attempts))
            return
        try:
            self.record(results, attempts, defer=defer)
        except Exception as error:
            if connection.in_atomic_block:
                raise
            self._unrecorded.append((results, attempts))
            log.warning("worker %s: the results of %d message(s) are held until the database takes them (%s)",
                        self.worker_id, len(results), describe(error))
            _drop_connection()

    def record(self, results: list[SendResult], attempts: dict[int, int], *, defer: bool = False) -> None:
        """Write the gateway's answers in one transaction. Should one message's data make it fail (a constraint,
        a value the database refuses), each message is written on its own and the bad one is set aside with
        its reason: the rest of the batch goes on. An outage (is_outage) is raised for the caller to hold."""
        try:
            self._record(results, attempts, defer=defer)
            return
        except Exception as error:
            if is_outage(error):
                raise
            if len(results) == 1:
                self._set_aside(results[0], error)
                return
            log.warning("worker %s: a batch of %d result(s) could not be recorded (%s); recording one by one",
                        self.worker_id, len(results), describe(error))
        for result in results:
            try:
                self._record([result], attempts, defer=defer)
            except Exception as error:
                if is_outage(error):
                    raise
                self._set_aside(result, error)

    def _set_aside(self, result: SendResult, error: BaseException) -> None:
        """One message whose result cannot be written as it is. Accepted: SENT without its part ids (no receipt
        can find it; expiry settles it as "no report"). Refused: FAILED. The reason says why, in words."""
        log.error("worker %s: message %s set aside, its result could not be recorded: %s", self.worker_id, result.id,
                  describe(error))
        now = timezone.now()
        reason = f"The gateway's answer could not be recorded: {describe(error)}"[:255]
        fields = ({"status": Message.Status.SENT, "sent_at": now} if result.accepted
                  else {"status": Message.Status.FAILED, "failed_at": now})
        with transaction.atomic():
            updated = Message.objects.filter(
                Q(status=Message.Status.SENDING, worker=self.worker_id) | Q(status=Message.Status.QUEUED),
                pk=result.id,
            ).update(gateway=self.gateway, lease_until=None, error_code="unrecorded", error_reason=reason, **fields)
            if updated:
                services.emit_status_changes([(result.id, Message.Status.SENDING, fields["status"])])
        self.last_error, self.last_error_at = f"Message {result.id}: {describe(error)}"[:255], now

    def _record(self, results: list[SendResult], attempts: dict[int, int], *, defer: bool = False) -> None:
        now = timezone.now()
        accepted = [r for r in results if r.accepted]
        polled: list[tuple] = []
        try:
            with transaction.atomic():
                if accepted:
                    self._record_accepted(accepted, now, polled, defer=defer)
                if len(accepted) < len(results):
                    self._record_refused(results, attempts, now)
                _commit_without_waiting()
        except BaseException:
            for reports, inbound in polled:  # not committed: the gateway must hand these out again
                self.backend.release(reports, inbound)
            raise

    def _record_refused(self, results: list[SendResult], attempts: dict[int, int], now) -> None:
        mine = Message.objects.filter(status=Message.Status.SENDING, worker=self.worker_id)
        changes = []
        groups: dict[tuple, list[int]] = {}
        first, cap = conf.retry_backoff()
        gateway_down = None
        for r in results:
            if r.accepted:
                continue
            tries = attempts.get(r.id, 1)
            if r.temporary and not r.handed_over:
                if gateway_down is None:
                    gateway_down = not self.own_health(fresh=True)[0]
                if gateway_down:  # never left us and the gateway is down: fail over at once, uncounted
                    groups.setdefault(("failover", tries, r.error_code, r.error_reason), []).append(r.id)
                    continue
            if r.temporary and tries < conf.max_attempts():
                groups.setdefault(("retry", tries, r.error_code, r.error_reason, r.handed_over), []).append(r.id)
            else:
                groups.setdefault(("fail", 0, r.error_code, r.error_reason), []).append(r.id)
        for (what, tries, code, reason, *handed), ids in groups.items():
            if what == "failover":
                mine.filter(id__in=ids).update(
                    status=Message.Status.QUEUED, next_attempt_at=now, attempts=F("attempts") - 1, gateway="",
                    lease_until=None, worker="", error_code=code[:32], error_reason=reason[:255],
                )
                changes += [(pk, Message.Status.SENDING, Message.Status.QUEUED) for pk in ids]
            elif what == "retry":
                delay = min(cap, first * (2 ** (tries - 1)))
                # A message the gateway may have stays pinned to it; a definite "not sent" is free again.
                mine.filter(id__in=ids).update(
                    status=Message.Status.QUEUED, next_attempt_at=now + timedelta(seconds=delay),
                    lease_until=None, worker="", error_code=code[:32], error_reason=reason[:255],
                    gateway=self.gateway if handed[0] else "",
                )
                changes += [(pk, Message.Status.SENDING, Message.Status.QUEUED) for pk in ids]
            else:
                mine.filter(id__in=ids).update(
                    status=Message.Status.FAILED, failed_at=now, gateway=self.gateway, lease_until=None,
                    error_code=code[:32], error_reason=reason[:255],
                )
                changes += [(pk, Message.Status.SENDING, Message.Status.FAILED) for pk in ids]
        services.emit_status_changes(changes)

    def _record_accepted(self, accepted: list[SendResult], now, polled: list, *, defer: bool = False) -> None:
        """Parts and SENT status for what the gateway took. An SMSC answers a fast receipt within milliseconds,
        so most receipts of the batch are already waiting: they are written with the parts (a delivered
        message goes straight to DELIVERED), instead of updating every part and message a second time.

        ``defer`` (a streamed window, written by the recorder): only the parts are written now. They are what
        makes a message accepted (a worker killed now does not send it again: recover_leases), and the window
        moves on as soon as they are; the messages stay SENDING until finish_accepted marks them SENT or
        DELIVERED with their receipts, once per batch or second, so each message is written once, not twice.

        A message is ours to mark while it is SENDING under this worker, or QUEUED again because our lease ran
        out while the database was away (the gateway has it all the same)."""
        reports, early, recent = [], {}, []
        if self.backend.early_reports:
            # The receipts of this window, and (when marking now) those of the windows recorded just before (a
            # receipt usually comes right after its window was written); the others (often those of the next
            # window, not recorded yet) stay with the gateway for the next poll or finish_accepted, instead of
            # waiting as unmatched reports.
            wanted = {gid for r in accepted for gid in r.part_ids}
            reports = self.backend.take_reports(wanted if defer else _Either(wanted, self._recent))
            early = {report.gateway_message_id: report for report in reports if report.gateway_message_id in wanted}
            recent = [report for report in reports if report.gateway_message_id not in wanted]
            polled.append((reports, []))
        stamp = db_datetime(now)
        rows, sent, delivered, unsettled = [], [], [], []
        for r in accepted:
            states = []
            for seq, gid in enumerate(r.part_ids, start=1):
                gid = str(gid)[:64]
                report = early.get(gid)
                if report is None:
                    rows.append((r.id, seq, self.gateway, gid, MessagePart.Status.SENT, "", "", stamp))
                    states.append(MessagePart.Status.SENT)
                elif report.delivered:
                    rows.append((r.id, seq, self.gateway, gid, MessagePart.Status.DELIVERED, "", "", stamp))
                    states.append(MessagePart.Status.DELIVERED)
                else:
                    rows.append((r.id, seq, self.gateway, gid, MessagePart.Status.FAILED, report.error_code[:32],
                                 report.error_reason[:255], stamp))
                    states.append(MessagePart.Status.FAILED)
            if states and all(state == MessagePart.Status.DELIVERED for state in states):
                delivered.append(r.id)
            else:
                sent.append(r.id)
                if MessagePart.Status.FAILED in states:
                    unsettled.append(r.id)
        if defer:
            insert_rows(MessagePart, PART_FIELDS, rows)
            if not self._accepted:
                self._accepted_since = time.monotonic()
            self._accepted += [r.id for r in accepted]
            self._remember(accepted, sent, unsettled)
            self._receive(reports, [])
            return
        groups = ((sent, {"status": Message.Status.SENT}),
                  (delivered, {"status": Message.Status.DELIVERED, "delivered_at": now}))
        # Two conditions, each its own statement, never one OR: PostgreSQL plans "(SENDING and ours) or QUEUED"
        # as a BitmapOr whose QUEUED arm reads the whole partial claim index (sms_msg_claim) to find the ids,
        # several times the cost of the rest of the transaction on a long queue. Each condition alone goes by
        # primary key (or sms_msg_status), and the second one only runs when the first did not mark them all.
        marked = self._mark(groups, now, status=Message.Status.SENDING, worker=self.worker_id)
        if marked < len(accepted):
            marked += self._mark(groups, now, status=Message.Status.QUEUED)
        if marked < len(accepted):
            # Some were taken back meanwhile (our lease ran out and another worker claimed them): only the ones
            # marked here get their parts; the others may be sent twice, which is all we can say.
            ours = set(Message.objects.filter(pk__in=[r.id for r in accepted], sent_at=now, gateway=self.gateway)
                       .values_list("id", flat=True))
            gone = [r.id for r in accepted if r.id not in ours]
            log.warning("worker %s: %d message(s) the gateway accepted had been taken back (lease ended): they may "
                        "be sent twice: %s", self.worker_id, len(gone), gone[:20])
            rows = [row for row in rows if row[0] in ours]
            sent = [pk for pk in sent if pk in ours]
            delivered = [pk for pk in delivered if pk in ours]
            unsettled = [pk for pk in unsettled if pk in ours]
        insert_rows(MessagePart, PART_FIELDS, rows)
        ids = sent + delivered
        self.sent_total += len(ids)
        self._remember(accepted, sent, unsettled)
        services.emit_status_changes([(pk, Message.Status.SENDING, Message.Status.SENT) for pk in ids]
                                     + [(pk, Message.Status.SENT, Message.Status.DELIVERED) for pk in delivered])
        if unsettled:
            services.settle_messages(unsettled, now=now)
        if recent:
            late = self._apply_recent(recent, now)
            if late:
                services.apply_delivery_reports(gateway=self.gateway, reports=late, now=now)
        self._receive(reports, [])

    def _remember(self, accepted: list[SendResult], sent: list[int], unsettled: list[int]) -> None:
        """Keep the gateway ids of the single-part messages just written without a receipt (_apply_recent)."""
        single = {r.id: str(r.part_ids[0])[:64] for r in accepted if len(r.part_ids) == 1}
        unsettled = set(unsettled)
        for pk in sent:
            if pk in single and pk not in unsettled:
                self._recent[single[pk]] = pk
        while len(self._recent) > RECENT_PARTS:
            self._recent.popitem(last=False)

    def finish_accepted(self, *, due_only: bool = False) -> int:
        """Mark the messages of the streamed windows written so far (``_accepted``, still SENDING): DELIVERED
        when every part has its receipt, the receipts waiting for them applied first, SENT otherwise (FAILED
        when a part failed), in one transaction. ``due_only``: only once FINISH_SECONDS have passed since the
        first of them was written (the recorder, during a long batch). Should the database refuse, they stay
        to be finished on the next call; a worker that stops before that leaves them to recover_leases, which
        finds their parts. Returns the number of messages marked."""
        if not self._accepted or (due_only and time.monotonic() - self._accepted_since < FINISH_SECONDS):
            return 0
        ids = list(self._accepted)
        reports: list = []
        try:
            with transaction.atomic():
                if self.backend.early_reports:
                    reports = self.backend.take_reports(self._recent)
                self._finish(ids, reports, timezone.now())
                _commit_without_waiting()
        except Exception as error:
            self.backend.release(reports, [])
            if connection.in_atomic_block:
                raise
            log.warning("worker %s: %d accepted message(s) stay SENDING until the database takes their status (%s)",
                        self.worker_id, len(ids), describe(error))
            _drop_connection()
            return 0
        del self._accepted[: len(ids)]
        return len(ids)

    def _finish(self, ids: list[int], reports: list, now) -> None:
        # The "delivered" receipts of single-part messages: their parts, by id; the messages are marked below.
        late = self._apply_recent(reports, now, pending=set(ids)) if reports else []
        delivered, failed = [], []
        for chunk in _chunks(ids, any_chunk()):
            settled, bad = services.parts_settle(chunk)
            delivered += settled
            failed += bad
        settled = set(delivered)
        sent = [pk for pk in ids if pk not in settled]
        groups = ((sent, {"status": Message.Status.SENT}),
                  (delivered, {"status": Message.Status.DELIVERED, "delivered_at": now}))
        marked = self._mark(groups, now, status=Message.Status.SENDING, worker=self.worker_id)
        if marked < len(ids):
            marked += self._mark(groups, now, status=Message.Status.QUEUED)
        if marked < len(ids):  # settled meanwhile by recover_leases (our lease ended): theirs to tell
            ours = set(Message.objects.filter(pk__any=ids, sent_at=now, gateway=self.gateway)
                       .values_list("id", flat=True))
            sent = [pk for pk in sent if pk in ours]
            delivered = [pk for pk in delivered if pk in ours]
            failed = [pk for pk in failed if pk in ours]
        self.sent_total += len(sent) + len(delivered)
        services.emit_status_changes([(pk, Message.Status.SENDING, Message.Status.SENT) for pk in sent + delivered]
                                     + [(pk, Message.Status.SENT, Message.Status.DELIVERED) for pk in delivered])
        if failed:
            services.settle_messages(failed, now=now)
        if late:  # failures, long texts: the general path, now that their messages are marked
            services.apply_delivery_reports(gateway=self.gateway, reports=late, now=now)
        self._receive(reports, [])

    def _mark(self, groups, now, **where) -> int:
        """Mark the accepted messages among those matching ``where``: each group's ids with its status; how many
        were marked. One plain UPDATE per group (dbutil.update_ids): this runs once per SMPP window."""
        marked = 0
        for ids, extra in groups:
            marked += update_ids(Message, ids, {"sent_at": now, "gateway": self.gateway, "lease_until": None,
                                                "error_code": "", "error_reason": "", **extra}, **where)
        return marked

    def poll(self) -> int:
        """Apply the delivery reports and inbound messages the gateway has for us, in one transaction."""
        reports, inbound = [], []
        try:
            with transaction.atomic():
                reports, inbound = self.backend.poll(limit=self.batch_size * 2)
                late = self._apply_recent(reports, timezone.now()) if reports and self._recent else reports
                if late:
                    services.apply_delivery_reports(gateway=self.gateway, reports=late)
                if self.unmatched_due():
                    services.retry_unmatched_reports(gateway=self.gateway)
                self._receive(reports, inbound)
        except BaseException:
            self.backend.release(reports, inbound)
            raise
        return len(reports) + len(inbound)

    def _apply_recent(self, reports, now, *, pending=frozenset()) -> list:
        """Write the "delivered" receipts of messages this worker has just recorded (single part, SENT): their
        part and message by id, two statements, instead of looking every part up by gateway id and counting the
        parts of each message (services.apply_delivery_reports, which takes the rest: failures, several parts,
        older messages, another worker's). ``pending``: messages still SENDING that finish_accepted marks next
        (only their part is written here). Returns the reports not written here."""
        rest, mine = [], {}
        for report in reports:
            pk = self._recent.get(report.gateway_message_id) if report.delivered else None
            if pk is None:
                rest.append(report)
            else:
                mine[pk] = report
        if not mine:
            return rest
        stamp = db_datetime(now)
        delivered = []
        with connection.cursor() as cursor:
            for chunk in _chunks(list(mine), any_chunk()):
                cursor.execute(*in_list(
                    f"UPDATE {MessagePart._meta.db_table} SET status = %s, updated_at = %s "  # noqa: S608 (model metadata)
                    "WHERE status = %s AND seq = 1 AND message_id", chunk,
                    [MessagePart.Status.DELIVERED, stamp, MessagePart.Status.SENT], "RETURNING message_id"))
                delivered += [row[0] for row in cursor.fetchall()]
        for report in mine.values():
            self._recent.pop(report.gateway_message_id, None)
        settled = [pk for pk in delivered if pk not in pending]
        update_ids(Message, settled, {"status": Message.Status.DELIVERED, "delivered_at": now, "error_code": "",
                                      "error_reason": ""}, status=Message.SETTLEABLE_STATUSES)
        services.emit_status_changes([(pk, Message.Status.SENT, Message.Status.DELIVERED) for pk in settled])
        # A part no longer SENT (an earlier receipt, a second one for the same id): the general path decides.
        done = set(delivered)
        return rest + [report for pk, report in mine.items() if pk not in done]

    def _receive(self, reports, inbound) -> None:
        """Store the inbound messages; the gateway may forget them and the reports once this commits."""
        for sms in inbound:
            self._store_inbound(sms)
        if reports or inbound:
            backend = self.backend
            transaction.on_commit(lambda: backend.acknowledge(reports, inbound))

    def _store_inbound(self, sms) -> None:
        """One inbound message, in a savepoint: should the database refuse it as it is, it is stored with its
        text spelled out in ASCII escapes and a note, so one odd message never holds back the others (nor comes
        back for ever: the gateway redelivers what we do not acknowledge)."""
        fields = {"number": sms.number, "gateway": self.gateway, "gateway_message_id": sms.gateway_message_id,
                  "received_at": sms.received_at}
        try:
            with transaction.atomic():
                services.receive_message(text=sms.text, **fields)
        except DatabaseError as error:
            if is_outage(error):
                raise
            log.error("gateway %s: inbound message from %s refused as it is (%s); stored with its text escaped",
                      self.gateway, clean_text(sms.number)[:20], describe(error))
            escaped = clean_text(str(sms.text or "").encode("ascii", "backslashreplace").decode("ascii"))
            with transaction.atomic():
                services.receive_message(text=escaped[:10000], **fields)

    def unmatched_due(self) -> bool:
        """Kept reports are retried about once a second, not on every poll."""
        now_mono = time.monotonic()
        if now_mono - self._last_unmatched < RECOVERY_SECONDS:
            return False
        self._last_unmatched = now_mono
        return UnmatchedReport.objects.filter(gateway=self.gateway).exists()

    def heartbeat(self, *, state: str = "running", force: bool = False) -> None:
        now_mono = time.monotonic()
        if not force and now_mono - self._last_heartbeat < HEARTBEAT_SECONDS:
            return
        self._last_heartbeat = now_mono
        ok, detail = self.own_health(fresh=force)
        WorkerHeartbeat.objects.update_or_create(
            worker=self.worker_id,
            defaults={
                "gateway": self.gateway, "hostname": socket.gethostname()[:255], "pid": os.getpid(),
                "started_at": self.started_at, "seen_at": timezone.now(), "state": state,
                "gateway_ok": ok and self.gateway_ok, "gateway_error": self.gateway_error or ("" if ok else detail),
                "sent": self.sent_total, "last_error": self.last_error[:255], "last_error_at": self.last_error_at,
            },
        )

    # ------------------------------------------------------------ routing and fail-over

    def own_health(self, *, fresh: bool = False) -> tuple[bool, str]:
        """(up, detail) of this worker's gateway: bound (SMPP), a modem with a fresh heartbeat (Gammu) …"""
        now_mono = time.monotonic()
        if not fresh and now_mono - self._health_at < HEALTH_SECONDS:
            return self._health
        self._health_at = now_mono
        try:
            if not self._opened:
                self.backend.open()
                self._opened = True
            health = self.backend.status()
        except Exception as error:  # an unreachable gateway is down, not a reason to stop the worker
            health = (False, str(error)[:255] or error.__class__.__name__)
        if health[0] != self._health[0] and self._health[1] != "not checked yet":
            log.warning("gateway %s is %s: %s", self.gateway, "up" if health[0] else "DOWN", health[1])
            self._last_heartbeat = 0.0  # tell the other workers now, not in two seconds
        self._health = health
        return health

    def take_back(self) -> int:
        """While this gateway has been down for the backend's ``failover_after`` seconds, take back what it
        holds but has certainly not sent (Gammu: outbox rows gammu-smsd never started) and queue it again
        for the other gateways of its route. Returns the number of messages taken back."""
        after = getattr(self.backend, "failover_after", 0)
        if not after or not hasattr(self.backend, "take_back"):
            return 0
        now_mono = time.monotonic()
        if self.own_health()[0]:
            self._down_since = None
            return 0
        self._down_since = self._down_since or now_mono
        if now_mono - self._down_since < after or now_mono - self._last_take_back < TAKE_BACK_SECONDS:
            return 0
        self._last_take_back = now_mono
        try:
            returned = set(self.backend.take_back(limit=self.batch_size))
        except Exception:
            log.exception("gateway %s: taking back unsent messages failed", self.gateway)
            return 0
        if not returned:
            return 0
        now = timezone.now()
        with transaction.atomic():
            parts: dict[int, list[str]] = {}
            for message_id, gid in MessagePart.objects.filter(
                gateway=self.gateway, message__status=Message.Status.SENT, message__gateway=self.gateway,
                message_id__in=MessagePart.objects.filter(gateway=self.gateway, gateway_message_id__in=list(returned))
                .values("message_id"),
            ).values_list("message_id", "gateway_message_id"):
                parts.setdefault(message_id, []).append(gid)
            ids = [pk for pk, gids in parts.items() if set(gids) <= returned]  # every part came back
            if not ids:
                return 0
            MessagePart.objects.filter(message_id__in=ids).delete()
            Message.objects.filter(pk__in=ids, status=Message.Status.SENT).update(
                status=Message.Status.QUEUED, gateway="", sent_at=None, next_attempt_at=now, lease_until=None,
                worker="", error_code="taken_back",
                error_reason=f"Gateway {self.gateway} was down: taken back before it was sent"[:255],
            )
            services.emit_status_changes([(pk, Message.Status.SENT, Message.Status.QUEUED) for pk in ids])
        log.warning("gateway %s is down: %d unsent message(s) taken back for the other gateways", self.gateway,
                    len(ids))
        return len(ids)

    def gateways_up(self) -> set[str]:
        """The gateways that can send now: this one if its link is up, the others by their workers' heartbeats
        (a worker that stopped beating, or reports its gateway down, does not count)."""
        now_mono = time.monotonic()
        if now_mono - self._others_at >= HEALTH_SECONDS:
            self._others_at = now_mono
            self._others_up = self._gateways_not_known_down()
        return self._others_up | ({self.gateway} if self.own_health()[0] else set())

    def _gateways_not_known_down(self) -> set[str]:
        """The other gateways, but those certainly down: a fresh heartbeat that reports the gateway down, a
        worker that said it stopped, or no fresh heartbeat through a whole grace period of watching. A worker
        that has just started has not watched that long: until then, a gateway without a heartbeat yet counts
        as up (its worker may be starting at this very moment), so a backup never takes a primary's kinds in
        a start-up race."""
        now = timezone.now()
        grace = conf.HEALTH_STALE_SECONDS
        fresh_since = now - timedelta(seconds=grace)
        beats = list(WorkerHeartbeat.objects.filter(seen_at__gte=fresh_since).exclude(gateway=self.gateway)
                     .values_list("gateway", "state", "gateway_ok"))
        up = {gateway for gateway, state, ok in beats if state == "running" and ok}
        if time.monotonic() - self._watch_since >= grace:
            return up
        known = {gateway for gateway, _state, _ok in beats}  # fresh news of these: up or down, it is certain
        return up | {name for name in conf.gateways() if name != self.gateway and name not in known}

    def route_filter(self):
        """What this worker may claim now: None for everything, NOTHING while its gateway is down, else a Q.

        Messages pinned to another configured gateway are never taken; a kind is taken when this gateway is
        the first one up on its route (SMS_ROUTES), so a gateway that goes down hands its kinds to the next.
        """
        if not self.own_health()[0]:
            return NOTHING
        names = list(conf.gateways())
        if names == [self.gateway]:
            return None
        up = self.gateways_up()
        table = conf.routes()
        kinds = [kind for kind in Message.Kind.values if kind != Message.Kind.REPLY
                 and next((name for name in conf.route_for(kind, table) if name in up), None) == self.gateway]
        others = [name for name in names if name != self.gateway]
        return ~Q(gateway__in=others) & (Q(gateway=self.gateway) | Q(kind__in=kinds))
