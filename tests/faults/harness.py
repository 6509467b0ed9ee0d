"""The fault suite's machinery: a throwaway database migrated by ``manage.py migrate``, messages queued by a
child process, ``manage.py smsd`` workers as subprocesses against the SMSC peer, and the count at the end.

Nothing here uses pytest-django's test database: every run has its own database (a temporary SQLite file, a
fresh database on the shared PostgreSQL server that is dropped afterwards, or one on a throwaway cluster),
and the final state is read from it directly (sqlite3 / psycopg), the submits from the peer's own journal.
"""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
WINDOW = 16  # the SMPP window the workers use: the most submits one worker has unanswered at a time
NUMBER_PREFIX = "+62812"  # each test message goes to its own number: +62812 and eight digits


def messages(default: int = 1000) -> int:
    """How many messages a fault run sends: ABAH_FAULTS_MESSAGES (``make faults`` sets 10,000)."""
    return int(os.environ.get("ABAH_FAULTS_MESSAGES", default))


def lease_seconds() -> float:
    """The workers' --lease: short, so what a killed worker held comes back within the test's time."""
    return float(os.environ.get("ABAH_FAULTS_LEASE", "10"))


def batch_size(count: int) -> int:
    """The workers' --batch-size: 500 (smsd's default) at 10,000 messages, smaller for the CI sizes, so that
    ten kills still fall among the sends instead of finding the whole queue claimed by dead workers."""
    return max(20, min(500, count // 20))


def number(index: int) -> str:
    return f"{NUMBER_PREFIX}{index:08d}"


def child_env(database_url: str, **extra: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1", "LOG_LEVEL": "INFO", "AXES_ENABLED": "0",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1", "ABAH_TEST_SMPP_PASSWORD": "secret",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    for name in ("TEST_DATABASE_NAME", "SMS_GATEWAY_BACKEND", "SMS_GATEWAY_OPTIONS", "SMS_ROUTES"):
        env.pop(name, None)
    env.update(extra)
    return env


# ---------------------------------------------------------------- databases


class Database:
    """A fresh database of one engine: ``sqlite`` (a file in workdir), ``postgres`` (the shared server on
    127.0.0.1:5432) or a throwaway cluster (``server`` = its URL without the database name)."""

    def __init__(self, engine: str, workdir: Path, *, server: str = PG_SERVER):
        self.engine = engine
        self.workdir = workdir
        self.server = server
        if engine == "sqlite":
            self.path = workdir / "faults.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = f"abah_faults_{uuid.uuid4().hex[:10]}"
            self.url = f"{server}/{self.name}"

    def create(self) -> "Database":
        if self.engine != "sqlite":
            import psycopg

            with psycopg.connect(f"{self.server}/postgres", autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        proc = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT,
                              env=child_env(self.url), capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"manage.py migrate failed on {self.engine}:\n{proc.stdout}\n{proc.stderr}")
        return self

    def drop(self) -> None:
        if self.engine == "sqlite":
            return  # in the test's tmp_path
        import psycopg

        for _ in range(30):  # the throwaway cluster may be coming back from a restart
            try:
                with psycopg.connect(f"{self.server}/postgres", autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                return
            except psycopg.OperationalError:
                time.sleep(1)

    def queue(self, count: int, *, start: int = 1) -> list[str]:
        """Queue ``count`` single-segment "manual" messages (no send window), one number each; their numbers."""
        proc = subprocess.run([sys.executable, "-m", "tests.faults.queue", str(count), str(start)], cwd=ROOT,
                              env=child_env(self.url), capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"queueing failed:\n{proc.stdout}\n{proc.stderr}")
        return [number(i) for i in range(start, start + count)]

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read straight from the database (never through the ORM of the test process). ``%s`` placeholders."""
        if self.engine == "sqlite":
            with sqlite3.connect(self.path, timeout=30) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def try_query(self, sql: str, params: tuple = ()) -> list[tuple] | None:
        """As query, but None while the database is unreachable or locked (during a fault)."""
        try:
            return self.query(sql, params)
        except Exception:
            return None

    def outgoing(self) -> dict[str, tuple]:
        """number -> (status, attempts, error_code, error_reason) of every outgoing message."""
        rows = self.query("SELECT number, status, attempts, error_code, error_reason FROM sms_message "
                          "WHERE direction = 'out'")
        return {row[0]: tuple(row[1:]) for row in rows}

    def pending(self) -> Counter | None:
        rows = self.try_query("SELECT status, COUNT(*) FROM sms_message WHERE direction = 'out' GROUP BY status")
        return None if rows is None else Counter(dict(rows))


# ---------------------------------------------------------------- workers


class Workers:
    """``manage.py smsd --gateway default`` subprocesses, each with its own log and worker id. The test kills
    them by PID and starts them again; a worker that exits on its own is counted and started again."""

    def __init__(self, database: Database, gateways: dict, workdir: Path, *, count: int = 1, batch: int = 500,
                 extra_env: dict | None = None):
        self.database = database
        self.gateways = gateways
        self.workdir = workdir
        self.batch = batch
        self.procs: list[subprocess.Popen | None] = [None] * count
        self.ids: list[str] = [""] * count
        self.starts = 0
        self.exits: list[tuple[str, int]] = []  # (worker id, exit code) of the exits nobody caused
        self.kills = 0
        self.logs: list[Path] = []
        self.extra_env = extra_env or {}

    def start(self, slot: int | None = None) -> None:
        for index in range(len(self.procs)) if slot is None else [slot]:
            self.starts += 1
            worker_id = f"fault-{index}-{self.starts}"
            log = self.workdir / f"smsd-{worker_id}.log"
            self.logs.append(log)
            with open(log, "w") as out:
                self.procs[index] = subprocess.Popen(
                    [sys.executable, "manage.py", "smsd", "--gateway", "default", "--worker-id", worker_id,
                     "--lease", str(lease_seconds()), "--batch-size", str(self.batch), "--interval", "0.2"],
                    cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                    env=child_env(self.database.url, SMS_GATEWAYS=json.dumps(self.gateways), **self.extra_env))
            self.ids[index] = worker_id

    def kill(self, slot: int = 0) -> str:
        """SIGKILL one worker (our own child, by PID) and wait for it; returns the id it had."""
        proc = self.procs[slot]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        self.kills += 1
        return self.ids[slot]

    def supervise(self) -> int:
        """Start again every worker that exited on its own (counted in ``exits``); returns how many."""
        restarted = 0
        for index, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is not None:
                self.exits.append((self.ids[index], proc.returncode))
                self.start(index)
                restarted += 1
        return restarted

    def alive(self) -> bool:
        return all(proc is not None and proc.poll() is None for proc in self.procs)

    def stop(self) -> None:
        for index, proc in enumerate(self.procs):
            if proc is None:
                continue
            if proc.poll() is not None:
                self.exits.append((self.ids[index], proc.returncode))
                continue
            os.kill(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            if proc is None or proc.returncode is not None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.procs = [None] * len(self.procs)

    def errors(self) -> Counter:
        return log_errors(self.logs)


ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): ?(.*)$")


def log_errors(logs) -> Counter:
    """The exceptions the logs end tracebacks with, by class (the reason a worker died or a batch failed)."""
    found = Counter()
    for path in logs:
        try:
            lines = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for index, line in enumerate(lines):
            match = ERROR_LINE.match(line)
            if match and any(lines[j].startswith("Traceback") for j in range(max(0, index - 200), index)):
                found[match[1].rsplit(".", 1)[-1]] += 1
    return found


def daemon_restarts(logs) -> int:
    """How often smsd restarted its daemon after an unexpected error (it logs "restarting the daemon in")."""
    total = 0
    for path in logs:
        try:
            total += Path(path).read_text(errors="replace").count("restarting the daemon in")
        except OSError:
            continue
    return total


UNANSWERED = re.compile(r"submit for message (\d+) part \d+ unanswered")


def unanswered_submits(logs) -> set[int]:
    """The messages whose submit the SMSC never answered (the SMPP backend logs each one: "… unanswered …
    possible duplicate"). An SMSC that took such a submit and died before answering gets it again: the one
    duplicate SMPP cannot rule out."""
    found: set[int] = set()
    for path in logs:
        try:
            found.update(int(m) for m in UNANSWERED.findall(Path(path).read_text(errors="replace")))
        except OSError:
            continue
    return found


def first_error(logs) -> str:
    """The first exception line of the logs, for the failure message."""
    for path in logs:
        try:
            for line in Path(path).read_text(errors="replace").splitlines():
                if ERROR_LINE.match(line):
                    return f"{Path(path).name}: {line[:300]}"
        except OSError:
            continue
    return ""


# ---------------------------------------------------------------- the count


@dataclass
class Result:
    fault: str
    engine: str
    messages: int
    lost: int = 0
    duplicates: int = 0
    in_flight_at_kills: list[int] = field(default_factory=list)
    kills: int = 0
    worker_exits: int = 0
    daemon_restarts: int = 0  # smsd restarting its daemon after an unexpected error (the process lives on)
    web_down: float | None = None
    unsettled: int = 0  # accepted ("sent") with no receipt applied at the end
    statuses: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    seconds: float = 0.0
    notes: str = ""
    lost_examples: list = field(default_factory=list)

    def line(self) -> str:
        parts = [f"fault {self.fault} [{self.engine}]: messages={self.messages} lost={self.lost} "
                 f"duplicates={self.duplicates}"]
        if self.kills:
            parts.append(f"(in flight at kills <= {sum(self.in_flight_at_kills)}: "
                         f"{'+'.join(map(str, self.in_flight_at_kills))}; window*kills={WINDOW * self.kills})")
        parts.append(f"worker_exits={self.worker_exits} daemon_restarts={self.daemon_restarts}")
        parts.append("web_down=-" if self.web_down is None else f"web_down={self.web_down:.1f}s")
        parts.append(f"unsettled={self.unsettled}")
        if self.errors:
            parts.append("errors=" + ",".join(f"{name}x{n}" for name, n in sorted(self.errors.items())))
        parts.append(f"in {self.seconds:.0f}s")
        if self.notes:
            parts.append(self.notes)
        return " ".join(parts)

    def report(self) -> None:
        """Print the line (pytest -s shows it) and add it to ABAH_FAULTS_REPORT (the ``make faults`` table)."""
        print("\n" + self.line(), flush=True)
        path = os.environ.get("ABAH_FAULTS_REPORT")
        if path:
            with open(path, "a") as out:
                out.write(json.dumps({**self.__dict__, "line": self.line()}) + "\n")


def count(result: Result, database: Database, peer, numbers: list[str]) -> Result:
    """Lost, duplicates and unsettled, from the peer's journal of submits and from our database."""
    submits = peer.submits_by_destination()
    state = database.outgoing()
    lost = []
    duplicates = 0
    statuses = Counter()
    for num in numbers:
        status = state.get(num, ("missing",))[0]
        statuses[status] += 1
        submitted = len(submits.get(num.removeprefix("+"), []))
        duplicates += max(0, submitted - 1)
        if submitted == 0 or status not in ("sent", "delivered"):
            lost.append((num, status, submitted, *state.get(num, ())[1:]))
        elif status == "sent":
            result.unsettled += 1
    result.lost = len(lost)
    result.lost_examples = lost[:10]
    result.duplicates = duplicates
    result.statuses = dict(statuses)
    return result


def duplicated_ids(database: Database, peer) -> set[int]:
    """Our ids of the outgoing messages the peer's journal shows submitted more than once."""
    twice = {destination for destination, submits in peer.submits_by_destination().items() if len(submits) > 1}
    return {pk for number, pk in database.query("SELECT number, id FROM sms_message WHERE direction = 'out'")
            if number.removeprefix("+") in twice}


def in_flight(database: Database, peer, worker_id: str = "", *, pid: int | None = None) -> int:
    """After a kill: the messages the dead worker holds (SENDING under its lease, without parts: a message whose
    parts are written is recorded as accepted and marked sent when its lease ends) that the peer has already
    taken, i.e. submitted and not recorded; each may go out a second time when its lease ends. The worker by
    its id, or by its PID (a default worker id is host:pid:random).

    The peer may still be reading submits the dead worker wrote into the socket just before the kill: the count
    is taken once it has stopped moving for half a second (bounded wait)."""
    held = ("SELECT number FROM sms_message m WHERE status = 'sending' AND worker {} %s AND NOT EXISTS "
            "(SELECT 1 FROM sms_messagepart p WHERE p.message_id = m.id)")
    if pid is not None:
        query, params = held.format("LIKE"), (f"%:{pid}:%",)
    else:
        query, params = held.format("="), (worker_id,)
    rows = database.try_query(query, params) or []
    last, stable_since, deadline = None, time.monotonic(), time.monotonic() + 5.0
    while True:
        submitted = peer.submits_by_destination()
        count = sum(1 for (num,) in rows if num.removeprefix("+") in submitted)
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since >= 0.5 or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def wait_until_done(database: Database, workers: Workers | None, *, timeout: float, settle: float = 3.0,
                    during=None) -> bool:
    """Until nothing is queued or sending and every receipt that will come has come (no "sent" left, or their
    number unchanged for ``settle`` seconds), or ``timeout``. Workers that exit are started again (counted).
    ``during()`` is called every round; a true answer ends the wait (the run cannot finish). True if done."""
    deadline = time.monotonic() + timeout
    last_sent, since = None, time.monotonic()
    while time.monotonic() < deadline:
        if workers is not None:
            workers.supervise()
        if during is not None and during():  # the run cannot go on (serve stopped): give up now
            return False
        pending = database.pending()
        if pending is not None and not pending.get("queued") and not pending.get("sending"):
            sent = pending.get("sent", 0)
            if sent == 0:
                return True
            if sent != last_sent:
                last_sent, since = sent, time.monotonic()
            elif time.monotonic() - since >= settle:
                return True
        time.sleep(0.2)
    return False


def wait_for_submits(peer, target: int, *, timeout: float, workers: Workers | None = None, give_up=None) -> bool:
    """Until the peer has accepted ``target`` submits in all (polled every 10 ms), or ``timeout``, or until
    ``give_up()`` says the run cannot go on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (give_up is not None and give_up()):
        try:
            if peer.submitted() >= target:
                return True
        except OSError:
            pass
        if workers is not None:
            workers.supervise()
        time.sleep(0.01)
    return False


def failure_details(result: Result, logs) -> str:
    lines = [result.line(), f"statuses: {result.statuses}"]
    if result.lost_examples:
        lines.append(f"lost (number, status, submits, attempts, error_code, error_reason): {result.lost_examples}")
    error = first_error(logs)
    if error:
        lines.append(f"first error in the logs: {error}")
    return "\n".join(lines)
