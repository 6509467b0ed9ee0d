"""manage.py smsd: run the SMS daemon (claim, send, apply delivery reports and replies) until stopped.

The command restarts the daemon from its own failures (an unexpected exception: logged with its traceback, the
gateway and database connections closed, a wait with backoff, a new daemon), so that a process manager (systemd)
sees an exit only on a configuration error (ImproperlyConfigured, CommandError) or when it is asked to stop.
"""

import logging
import os
import signal
import threading
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils import timezone

from abah.core.supervise import BACKOFF_MAX, BACKOFF_MIN, STABLE_SECONDS
from abah.sms.conf import gateways
from abah.sms.daemon import Daemon
from abah.sms.models import WorkerHeartbeat

log = logging.getLogger("abah.sms.smsd")
# Not restarted: a configuration error, or a stop that was asked for (Ctrl-C, SIGTERM, a second Ctrl-C).
FATAL = (KeyboardInterrupt, SystemExit, ImproperlyConfigured, CommandError)


def positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Send queued SMS through the configured gateway and apply its delivery reports and replies."

    def add_arguments(self, parser):
        parser.add_argument("--gateway", default="default", help="the gateway to drive; run one smsd per gateway")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--lease", type=positive, default=positive(os.environ.get("ABAH_SMS_LEASE_SECONDS") or "60"),
                            help="seconds a claimed batch stays ours (environment: ABAH_SMS_LEASE_SECONDS; 60)")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds to wait when there is nothing to do")
        parser.add_argument("--worker-id", default="")
        parser.add_argument("--once", action="store_true", help="one pass over everything due, then exit (tests)")
        parser.add_argument("--exit-when-idle", action="store_true", help="exit once nothing is queued or sending")
        parser.add_argument("--max-seconds", type=positive, default=None)
        parser.add_argument("--no-restart", action="store_true",
                            help="exit on an unexpected error instead of restarting the daemon (tests)")

    def handle(self, *args, gateway, batch_size, lease, interval, worker_id, once, exit_when_idle, max_seconds,
               **options):
        if gateway not in gateways() and gateway != "default":  # "default": the first one configured
            raise CommandError(f"unknown gateway {gateway!r}; configured: {', '.join(gateways())}")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        self.restarts = 0
        self._stop_requested = False
        previous = self._catch_signals()
        try:
            self._run(gateway=gateway, batch_size=batch_size, lease=lease, interval=interval, worker_id=worker_id,
                      once=once, exit_when_idle=exit_when_idle, max_seconds=max_seconds,
                      no_restart=options["no_restart"], verbosity=options["verbosity"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self, *, gateway, batch_size, lease, interval, worker_id, once, exit_when_idle, max_seconds,
             no_restart, verbosity):
        deadline = time.monotonic() + max_seconds if max_seconds else None
        backoff = BACKOFF_MIN
        failure = None  # (words, when) of the last error the command restarted from
        while True:
            daemon = None
            started = time.monotonic()
            try:
                daemon = Daemon(gateway=gateway, batch_size=batch_size, lease_seconds=lease, interval=interval,
                                worker_id=worker_id, stdout=self.stdout)
                worker_id = daemon.worker_id  # a restarted daemon goes on under the same name (its heartbeat row)
                if failure and hasattr(daemon, "last_error") and not daemon.last_error:
                    daemon.last_error, daemon.last_error_at = failure  # its heartbeat shows why it was restarted
                if verbosity > 1:
                    self.stdout.write(f"smsd {daemon.worker_id} on gateway {gateway} "
                                      f"({daemon.backend.__class__.__name__})")
                if self._stop_requested:  # Ctrl-C / SIGTERM came before the daemon took its signals over
                    return
                remaining = deadline - time.monotonic() if deadline else None
                daemon.run(once=once, exit_when_idle=exit_when_idle,
                           max_seconds=max(remaining, 0.001) if remaining is not None else None)
                return
            except FATAL:
                raise
            except Exception as error:
                if no_restart or once:  # a one-shot pass reports its failure; --no-restart: the old behaviour
                    raise
                if time.monotonic() - started >= STABLE_SECONDS:  # it had been running fine: a passing fault
                    backoff = BACKOFF_MIN
                wait = backoff
                backoff = min(BACKOFF_MAX, backoff * 2)
                self.restarts += 1
                log.exception("smsd %s on gateway %s stopped on an unexpected error (%s); restarting the daemon in "
                              "%.0f s (restart %d)", worker_id or "-", gateway, error.__class__.__name__, wait,
                              self.restarts)
                self._clean_up(daemon)
                failure = self._remember(worker_id, error)
            if self._wait(wait, deadline):
                return

    def _clean_up(self, daemon) -> None:
        """Close the gateway link and the database connection of the failed daemon: the next one starts afresh."""
        if daemon is not None:
            try:
                daemon.backend.close()
            except Exception:
                log.warning("closing the gateway after the error failed", exc_info=True)
        if connection.in_atomic_block:  # a caller's transaction (tests) keeps its connection
            return
        try:
            close_old_connections()
            connection.close()
        except Exception:
            log.warning("closing the database connection after the error failed", exc_info=True)

    def _remember(self, worker_id: str, error: Exception) -> tuple[str, object]:
        """The status page shows the last error on the worker's row; a database that is away is no reason to stop."""
        words = " ".join(str(error).split())
        text = f"Restarted after an error: {error.__class__.__name__}" + (f": {words}" if words else "")
        failure = (text[:255], timezone.now())
        if not worker_id:
            return failure
        try:
            WorkerHeartbeat.objects.filter(worker=worker_id).update(last_error=failure[0], last_error_at=failure[1])
        except Exception:
            log.warning("could not record the error of worker %s", worker_id, exc_info=True)
            if not connection.in_atomic_block:
                connection.close()
        return failure

    def _wait(self, seconds: float, deadline: float | None) -> bool:
        """Sleep before the restart; True when the run is over meanwhile (asked to stop, or --max-seconds)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._stop_requested or (deadline and time.monotonic() >= deadline):
                return True
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        return self._stop_requested or bool(deadline and time.monotonic() >= deadline)

    def _catch_signals(self) -> dict:
        """Between two daemons (the daemon installs its own handlers while it runs), Ctrl-C / SIGTERM end the wait."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def stop(signum, frame):
            self._stop_requested = True

        return {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
