"""manage.py serve supervises its children: a worker that dies is restarted, the web server answers throughout.

Real processes: serve with waitress, the tasks worker and smsd against a shared database; the smsd child is
SIGKILLed by its PID. The Supervisor is also driven directly with small real programs that fail on purpose.
"""

import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from abah.core.supervise import Supervisor
from tests.processes import ROOT, free_port, kill_if_alive, shared_db, stop_process, wait_for  # noqa: F401

STARTED = re.compile(r"started (\S+) \(pid (\d+)\)")


class Serve:
    """``manage.py serve`` on a free port; its stdout read by a thread (the "started … (pid N)" lines)."""

    def __init__(self, db, tmp_path):
        self.port = free_port()
        self.lines: list[str] = []
        self.err_path = tmp_path / "serve-stderr.log"
        self._err = open(self.err_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "serve", "--port", str(self.port), "--threads", "4"],
            cwd=ROOT, env=db.env, stdout=subprocess.PIPE, stderr=self._err, text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def pids(self, name: str) -> list[int]:
        return [int(m[2]) for line in list(self.lines) if (m := STARTED.search(line)) and m[1] == name]

    def all_pids(self) -> set[int]:
        return {int(m[2]) for line in list(self.lines) if (m := STARTED.search(line))}

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def stop(self) -> int:
        code = stop_process(self.proc, timeout=40)
        self._reader.join(timeout=5)
        for pid in self.all_pids():  # serve stops its children; should it have failed to, they are ours to end
            kill_if_alive(pid)
        self._err.close()
        return code


class Prober(threading.Thread):
    """GET a page every 0.1 s until stopped; counts the answers that were not 200."""

    def __init__(self, serve: Serve, path: str):
        super().__init__(daemon=True)
        self.serve, self.path = serve, path
        self.ok, self.failed = 0, []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            status = self.serve.get(self.path)
            if status == 200:
                self.ok += 1
            else:
                self.failed.append(status)
            self.done.wait(0.1)


def service_processes(db) -> dict[str, tuple]:
    rows = db.rows("SELECT name, pid, state, restarts, last_exit_code, last_error FROM sms_serviceprocess")
    return {row[0]: row[1:] for row in rows}


@pytest.fixture
def serve(shared_db, tmp_path):  # noqa: F811
    server = Serve(shared_db, tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_restarted_and_the_web_server_answers_throughout(serve, shared_db):  # noqa: F811
    from django.urls import reverse

    login = reverse("accounts:login")
    first = wait_for(lambda: serve.pids("smsd"), timeout=60, message=f"serve to start smsd; {serve.lines}")[0]
    wait_for(lambda: serve.get(login) == 200, timeout=60, message=f"the web server; {serve.stderr}")
    wait_for(lambda: service_processes(shared_db).get("smsd", (None,))[0] == first, timeout=30,
             message="serve to record smsd")
    prober = Prober(serve, login)
    prober.start()
    try:
        time.sleep(0.5)  # a few answers before the kill
        kill_if_alive(first)  # SIGKILL: smsd dies without a word
        second = wait_for(lambda: [p for p in serve.pids("smsd") if p != first], timeout=30,
                          message="smsd to be restarted")[0]
        row = wait_for(lambda: (r := service_processes(shared_db).get("smsd")) and r[0] == second and r,
                       timeout=30, message="the restart to be recorded")
        time.sleep(0.5)  # and a few answers after
    finally:
        prober.done.set()
        prober.join(timeout=10)
    assert prober.failed == [], f"the web server did not answer {len(prober.failed)} time(s): {prober.failed}"
    assert prober.ok >= 5
    pid, state, restarts, exit_code, last_error = row
    assert (state, restarts, exit_code) == ("running", 1, -signal.SIGKILL)
    assert last_error.splitlines()[0] == "smsd killed by SIGKILL"
    assert "serve: smsd killed by SIGKILL; restarting in 1 s (restart 1)" in serve.stderr
    # The other children were left alone.
    assert len(serve.pids("web")) == 1 and len(serve.pids("tasks")) == 1
    assert service_processes(shared_db)["web"][2] == 0
    # Ctrl-C / SIGTERM still stops everything, in order, and nothing is restarted after that.
    assert serve.stop() == 0
    assert serve.lines[-2:] == ["stopping …", "stopped."]
    assert len(serve.pids("smsd")) == 2
    states = {name: row[1] for name, row in service_processes(shared_db).items()}
    assert set(states.values()) == {"stopped"}, states
    assert service_processes(shared_db)["smsd"][3] == -signal.SIGKILL  # the last failure's code stays


# ---------------------------------------------------------------- the Supervisor with programs that fail


def supervise(commands, *, until, records=None, record=None, seconds=30):
    """Run a Supervisor over real child processes until ``until(supervisor)`` holds (bounded), then stop it."""
    err: list[str] = []
    out: list[str] = []
    if record is None and records is not None:
        def record(name, fields):
            records.setdefault(name, []).append(dict(fields))
    supervisor = Supervisor(commands, cwd=ROOT, env=None, out=out.append, err=err.append, record=record,
                            backoff=(0.05, 0.2), record_retry=0.1)
    try:
        supervisor.start_all()
        deadline = time.monotonic() + seconds
        while not until(supervisor):
            assert time.monotonic() < deadline, f"the supervisor did not get there; stderr: {err}"
            supervisor.step()
            time.sleep(0.02)
    finally:
        supervisor.stop(timeout=10)
    return supervisor, out, err


TRACEBACK = "import sys; print('Traceback (most recent call last):', file=sys.stderr); raise RuntimeError('boom')"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_the_traceback_is_the_last_error_and_other_children_keep_running():
    records = {}
    supervisor, out, err = supervise(
        [("steady", SLEEPER), ("crashing", [sys.executable, "-c", TRACEBACK])],
        until=lambda s: s.children[1].restarts >= 2, records=records,
    )
    steady, crashing = supervisor.children
    assert steady.restarts == 0 and len([line for line in out if line.startswith("started steady")]) == 1
    assert "RuntimeError: boom" in err  # every line of the child's stderr is forwarded
    assert any(line.startswith("serve: crashing exited with code 1: RuntimeError: boom; restarting in") for line in err)
    # Written in the background, the newest state each time; the last one: stopped, with the last failure.
    last = records["crashing"][-1]
    assert last["state"] == "stopped" and last["restarts"] == crashing.restarts >= 2
    assert last["last_exit_code"] == 1
    assert last["last_error"].splitlines()[0] == "crashing exited with code 1: RuntimeError: boom"
    assert "Traceback (most recent call last):" in last["last_error"]
    assert records["steady"][-1]["state"] == "stopped" and records["steady"][-1]["restarts"] == 0


def test_backoff_doubles_up_to_its_cap():
    supervisor, _out, _err = supervise([("crashing", [sys.executable, "-c", "raise SystemExit(1)"])],
                                       until=lambda s: s.children[0].restarts >= 4)
    assert supervisor.children[0].backoff == 0.2  # 0.05, 0.1, 0.2, 0.2 …: capped


def test_a_configuration_error_is_said_in_words_and_still_retried():
    # As Django's BaseCommand says it (exit code 1), and as a traceback ends.
    command_error = [sys.executable, "-c", "import sys; print(\"CommandError: unknown gateway 'x'\", file=sys.stderr); "
                     "sys.exit(1)"]
    _supervisor, _out, err = supervise([("smsd", command_error)], until=lambda s: s.children[0].restarts >= 1)
    assert any("smsd cannot start: this is a configuration error" in line for line in err), err
    _supervisor, _out, err = supervise([("usage", [sys.executable, "-c", "raise SystemExit(2)"])],
                                       until=lambda s: s.children[0].restarts >= 1)
    assert any("usage cannot start: this is a configuration error" in line for line in err), err
    improperly = ("from django.core.exceptions import ImproperlyConfigured; "
                  "raise ImproperlyConfigured('SMS_ROUTES names an unknown gateway')")
    _supervisor, _out, err = supervise([("tasks", [sys.executable, "-c", improperly])],
                                       until=lambda s: s.children[0].restarts >= 1)
    assert any("tasks cannot start: this is a configuration error" in line for line in err), err
    _supervisor, _out, err = supervise([("crashing", [sys.executable, "-c", TRACEBACK])],
                                       until=lambda s: s.children[0].restarts >= 1)
    assert not any("configuration error" in line for line in err), err


def test_many_fast_failures_in_a_row_are_named_as_such():
    _supervisor, _out, err = supervise([("flaky", [sys.executable, "-c", "raise SystemExit(3)"])],
                                       until=lambda s: s.children[0].restarts >= 7)
    assert any("flaky has failed 6 times in a row" in line for line in err), err


def test_a_database_that_refuses_the_record_never_stops_the_supervisor():
    from django.db import OperationalError

    calls = []

    def record(name, fields):
        calls.append(name)
        if len(calls) <= 3:
            raise OperationalError("connection refused: the database is restarting")

    supervisor, _out, err = supervise([("steady", SLEEPER)], record=record,
                                      until=lambda s: not s.children[0].dirty)
    assert supervisor.children[0].running() is False  # stopped at the end of supervise()
    complaints = [line for line in err if "could not record the state of steady" in line]
    assert len(complaints) == 1  # said once per outage, not at every try
    assert "serve: the state of the processes is recorded in the database again" in err


def test_nothing_is_restarted_once_stopping():
    supervisor, _out, _err = supervise([("crashing", [sys.executable, "-c", "raise SystemExit(1)"])],
                                       until=lambda s: s.children[0].restart_at is not None)
    assert supervisor.stopping and supervisor.children[0].restart_at is None
    supervisor.step()
    assert supervisor.children[0].proc is None and supervisor.children[0].restarts == 0
