"""Supervision of the processes ``manage.py serve`` runs (web, tasks, smsd …): a child that exits is restarted
with backoff, its restarts are counted and its last error (the tail of its stderr) is kept and recorded.

The web server is one child like the others, so whatever a worker does, the web server keeps answering.
"""

import collections
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

BACKOFF_MIN = 1.0  # seconds before the first restart …
BACKOFF_MAX = 60.0  # … doubling up to this
STABLE_SECONDS = 30.0  # a child that ran this long was fine: its backoff starts again from BACKOFF_MIN
FAST_FAILURES = 5  # more failures than this in a row, each within STABLE_SECONDS: a persistent fault
TAIL_LINES = 30  # lines of stderr kept as the last error (the traceback)
RECORD_RETRY_SECONDS = 5.0  # how soon a failed status write is tried again
# A child that says one of these on its way out will not get better by itself (Django prints "CommandError: …",
# a traceback ends in "django.core.exceptions.ImproperlyConfigured: …", argparse says "usage: …" and exits 2).
CONFIGURATION_ERROR = re.compile(r"^\s*(?:[\w.]+\.)?(?:CommandError|ImproperlyConfigured|SystemCheckError)\b|^usage: ")


def signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started_mono: float = 0.0
    restarts: int = 0
    fast_failures: int = 0
    backoff: float = BACKOFF_MIN
    restart_at: float | None = None  # monotonic time of the next start while it is down
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    reader: threading.Thread | None = None
    # What the status page should show; written to the database by Supervisor.record (retried when it fails).
    status: dict = field(default_factory=dict)
    version: int = 0  # bumped by every change of status …
    written: int = 0  # … and the version the database has

    @property
    def dirty(self) -> bool:
        return self.written != self.version

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Start, watch and restart children; ``step()`` once in a while from the caller's loop; ``stop()`` at the end.

    ``record(name, fields)`` stores a child's status (ServiceProcess); it may raise (the database is down):
    the supervisor logs it and tries again later, it never stops because of it.
    """

    def __init__(self, commands: list[tuple[str, list[str]]], *, cwd, env: dict, out: Callable[[str], None],
                 err: Callable[[str], None], forward: Callable[[str], None] | None = None,
                 record: Callable[[str, dict], None] | None = None,
                 backoff: tuple[float, float] = (BACKOFF_MIN, BACKOFF_MAX), record_retry: float = RECORD_RETRY_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.record_retry = record_retry
        self.backoff_min, self.backoff_max = backoff
        self.children = [Child(name, list(argv), backoff=self.backoff_min) for name, argv in commands]
        self.cwd, self.env = cwd, env
        self.out, self.err = out, err
        self.forward = forward or err  # the children's own stderr lines, as they come
        self.record = record
        self.clock = clock
        self.stopping = False
        self.hostname = socket.gethostname()[:255]
        self._err_lock = threading.Lock()
        self._record_failed_at: float | None = None
        self._writer: threading.Thread | None = None
        self._record_error = ""

    # ------------------------------------------------------------ starting and watching

    def start_all(self) -> None:
        for child in self.children:
            self._start(child)
        self.flush()

    def _start(self, child: Child) -> None:
        child.tail = collections.deque(maxlen=TAIL_LINES)  # the old process's reader may still hold the last one
        child.restart_at = None
        try:
            # Own process group, so a Ctrl-C reaches us once and we stop the children in order.
            child.proc = subprocess.Popen(child.argv, cwd=self.cwd, env=self.env, start_new_session=True,  # noqa: S603
                                          stderr=subprocess.PIPE)
        except OSError as error:  # the program itself is missing: try again later like any other failure
            child.proc = None
            self._after_exit(child, None, f"could not start: {error}")
            return
        child.started_mono = self.clock()
        child.reader = threading.Thread(target=self._read_stderr, args=(child.tail, child.proc.stderr),
                                        name=f"stderr-{child.name}", daemon=True)
        child.reader.start()
        self.out(f"started {child.name} (pid {child.proc.pid})")
        self._set(child, pid=child.proc.pid, state="running", started_at=timezone.now(), restarts=child.restarts)

    def _read_stderr(self, tail: collections.deque, pipe) -> None:
        """Forward every line to our own stderr and keep the last ones: on exit they are the last error."""
        try:
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                tail.append(line)
                with self._err_lock:
                    self.forward(line)
        except (OSError, ValueError):  # the pipe went away with the process
            pass
        finally:
            pipe.close()

    def _write_err(self, line: str) -> None:
        with self._err_lock:
            self.err(line)

    def step(self) -> None:
        """Notice exits, restart what is due, write pending status. Called every fraction of a second."""
        now = self.clock()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                proc, child.proc = child.proc, None
                if child.reader is not None:
                    child.reader.join(timeout=2)  # the rest of its stderr (a grandchild may keep the pipe open)
                self._after_exit(child, proc.returncode, "", ran=now - child.started_mono)
            elif child.proc is None and child.restart_at is not None and now >= child.restart_at and not self.stopping:
                child.restarts += 1
                self._start(child)
        self.flush()

    def _after_exit(self, child: Child, code: int | None, reason: str, ran: float = 0.0) -> None:
        if self.stopping:
            return
        if ran >= STABLE_SECONDS:  # it had been running fine: a passing fault, start again from a short wait
            child.backoff, child.fast_failures = self.backoff_min, 0
        child.fast_failures += 1
        delay = child.backoff
        child.backoff = min(self.backoff_max, child.backoff * 2)
        child.restart_at = self.clock() + delay
        tail = [line for line in child.tail if line.strip()]
        if code is None:
            how = reason
        elif code < 0:
            how = f"killed by {signal_name(code)}"
        else:
            how = f"exited with code {code}"
        # Its last words: the exception a traceback ends with. A killed process had none (its last log line is not).
        cause = tail[-1].strip() if tail and (code is None or code > 0) else ""
        summary = f"{child.name} {how}" + (f": {cause}" if cause else "")
        configuration = code == 2 or any(CONFIGURATION_ERROR.match(line) for line in tail)
        if configuration:
            self._write_err(f"serve: {summary}\nserve: {child.name} cannot start: this is a configuration error, "
                            f"it will not go away by itself. Fix the configuration (settings, environment, "
                            f"command line); serve keeps trying, next in {delay:g} s (at most every {self.backoff_max:g} s).")
        elif child.fast_failures > FAST_FAILURES:
            self._write_err(f"serve: {summary}\nserve: {child.name} has failed {child.fast_failures} times in a "
                            f"row, each time within {STABLE_SECONDS:.0f} s of starting: something is wrong with "
                            f"its configuration or environment (database, gateway, port), not a passing fault. "
                            f"Restarting in {delay:g} s.")
        else:
            self._write_err(f"serve: {summary}; restarting in {delay:g} s (restart {child.restarts + 1})")
        text = summary + ("\n\n" + "\n".join(child.tail) if tail else "")
        self._set(child, pid=None, state="restarting", last_exit_code=code, last_error=text,
                  last_error_at=timezone.now())

    # ------------------------------------------------------------ the status record

    def _set(self, child: Child, **fields) -> None:
        child.status.update(fields, hostname=self.hostname, updated_at=timezone.now())
        child.version += 1

    def flush(self, *, force: bool = False, wait: float = 0.0) -> None:
        """Write the children's pending status, in a thread of its own: a database that hangs or is away never
        holds up the supervision (restarts go on); it is logged once and tried again later. ``wait``: join it."""
        if self.record is None:
            return
        if self._writer is not None and self._writer.is_alive():
            self._writer.join(wait)
            if self._writer.is_alive():
                return
        if not any(child.dirty for child in self.children):
            return
        if not force and self._record_failed_at is not None and \
                self.clock() - self._record_failed_at < self.record_retry:
            return
        pending = [(child, child.version, dict(child.status)) for child in self.children if child.dirty]
        self._writer = threading.Thread(target=self._write, args=(pending,), name="serve-record", daemon=True)
        self._writer.start()
        if wait:
            self._writer.join(wait)

    def _write(self, pending: list[tuple[Child, int, dict]]) -> None:
        for child, version, status in pending:
            try:
                self.record(child.name, status)
            except Exception as error:  # noqa: BLE001 - whatever the database says, serve goes on
                message = f"{error.__class__.__name__}: {' '.join(str(error).split())}"[:300]
                if message != self._record_error:
                    self._write_err(f"serve: could not record the state of {child.name} in the database "
                                    f"({message}); trying again every {self.record_retry:g} s")
                self._record_error = message
                self._record_failed_at = self.clock()
                return
            child.written = version
        if self._record_error:
            self._write_err("serve: the state of the processes is recorded in the database again")
        self._record_error, self._record_failed_at = "", None

    # ------------------------------------------------------------ stopping

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM to every child, then wait for each in order; kill what is still there at the deadline."""
        self.stopping = True
        for child in self.children:
            child.restart_at = None
            if child.running():
                child.proc.send_signal(signal.SIGTERM)
        deadline = self.clock() + timeout
        for child in self.children:
            if child.proc is None:
                if child.status.get("state") != "stopped":
                    self._set(child, state="stopped", pid=None)
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                self._write_err(f"{child.name} did not stop in time; killing pid {child.proc.pid}")
                child.proc.kill()
                child.proc.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)
            self._set(child, state="stopped", pid=None)  # the last exit code stays the last failure's
            child.proc = None
        self.flush(force=True, wait=timeout)


def record_service_process(name: str, fields: dict) -> None:
    """Store one child's status in sms.ServiceProcess (the status page reads it), on a fresh connection."""
    from django.apps import apps
    from django.db import close_old_connections, connection

    if not apps.is_installed("abah.sms"):
        return
    model = apps.get_model("sms", "ServiceProcess")
    close_old_connections()
    try:
        fields = dict(fields)
        model.objects.update_or_create(hostname=fields.pop("hostname"), name=name, defaults=fields)
    finally:
        connection.close()  # serve holds no connection between writes: a restarted database is no harm


def process_env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}
