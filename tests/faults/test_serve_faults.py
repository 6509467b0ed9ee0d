"""``manage.py serve`` (web + workers) under faults, its web server probed every 0.1 s throughout.

- the SMS worker it runs is SIGKILLed three times during the sends (SQLite, PostgreSQL);
- the database (a throwaway PostgreSQL cluster) is restarted twice during the sends.

Target: the web server answers every probe (web_down=0.0s), the killed worker is started again by serve and
the queue empties: 0 lost; duplicates within what was in flight at the kills, 0 around a database restart;
no worker exits but the ones the test caused.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from abah.core.runtime import worker_commands
from tests.faults.harness import (
    ROOT,
    WINDOW,
    Result,
    child_env,
    count,
    daemon_restarts,
    failure_details,
    in_flight,
    lease_seconds,
    log_errors,
    messages,
    wait_for_submits,
    wait_until_done,
)
from tests.sms.peers.fixtures import free_port, smpp_gateway

pytestmark = pytest.mark.faults

KILLS = 3
DB_RESTARTS = 2


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, ValueError, IndexError):
            continue
    return found


class Serve:
    """``manage.py serve`` on a free port of 127.0.0.1, its children watched: which workers ran (by PID)."""

    def __init__(self, database, gateways: dict, workdir: Path):
        self.port = free_port()
        self.log = workdir / "serve.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--threads", "4"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                env=child_env(database.url, SMS_GATEWAYS=json.dumps(gateways), LOG_LEVEL="WARNING",
                              ABAH_SMS_LEASE_SECONDS=str(lease_seconds())))
        self.workers_seen: dict[int, str] = {}  # pid -> command line of every worker child seen
        self.web_seen: set[int] = set()

    def watch(self) -> None:
        for pid, cmdline in _children(self.proc.pid):
            if "waitress" in cmdline:
                self.web_seen.add(pid)
            else:
                self.workers_seen.setdefault(pid, cmdline)

    def smsd_pid(self) -> int | None:
        for pid, cmdline in _children(self.proc.pid):
            if " smsd" in cmdline:
                return pid
        return None

    def stop(self) -> None:
        children = [pid for pid, _ in _children(self.proc.pid)]
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for pid in children:  # serve starts them in their own sessions: whatever is left, by PID
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class WebProbe(threading.Thread):
    """GET the login page every 0.1 s; the seconds without an HTTP answer after the first one are downtime."""

    def __init__(self, serve: Serve):
        super().__init__(daemon=True)
        self.serve = serve
        self.url = f"http://127.0.0.1:{serve.port}/akun/masuk/"
        self.stopping = threading.Event()
        self.up_once = threading.Event()
        self.down = 0.0
        self.failures = 0
        self.server_errors = 0
        self.probes = 0

    def probe(self) -> tuple[bool, int]:
        try:
            with urllib.request.urlopen(self.url, timeout=2) as response:  # noqa: S310 (our own 127.0.0.1)
                return True, response.status
        except urllib.error.HTTPError as error:
            return True, error.code
        except OSError:
            return False, 0

    def run(self) -> None:
        last = time.monotonic()
        while not self.stopping.is_set():
            ok, status = self.probe()
            now = time.monotonic()
            self.serve.watch()
            if ok:
                self.up_once.set()
                self.server_errors += status >= 500
            elif self.up_once.is_set():
                self.failures += 1
                self.down += now - last
            self.probes += 1
            last = now
            self.stopping.wait(0.1)

    def finish(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def _run_serve(engine, database, peer, tmp_path, *, fault: str, fault_step, steps: int):
    n = messages()
    numbers = database.queue(n)
    gateways = {"default": smpp_gateway(peer, window=WINDOW)}
    started = time.monotonic()
    serve = Serve(database, gateways, tmp_path)
    probe = WebProbe(serve)
    probe.start()
    result = Result(fault, engine, n)
    try:
        assert probe.up_once.wait(90), f"serve never answered on port {serve.port}\n{serve.log.read_text()[-3000:]}"
        for k in range(steps):
            wait_for_submits(peer, n * (k + 1) // (steps + 1), timeout=lease_seconds() + 60,
                             give_up=lambda: serve.proc.poll() is not None)
            if serve.proc.poll() is not None:
                break
            fault_step(serve, result)
        done = wait_until_done(database, None, timeout=lease_seconds() * 2 + 120 + n / 50,
                               during=lambda: serve.proc.poll() is not None)
        serve_alive = serve.proc.poll() is None
    finally:
        probe.finish()
        serve.stop()
    count(result, database, peer, numbers)
    initial_workers = len(worker_commands())  # tasks, lpj-reminders, retention, smsd …; each later PID is a restart
    result.worker_exits = max(0, len(serve.workers_seen) - initial_workers - result.kills)
    result.web_down = probe.down
    result.errors = dict(log_errors([serve.log]))
    result.daemon_restarts = daemon_restarts([serve.log])
    result.seconds = time.monotonic() - started
    result.notes = (f"probes={probe.probes} failed={probe.failures} http5xx={probe.server_errors} "
                    f"web_restarts={max(0, len(serve.web_seen) - 1)} serve_alive={serve_alive}")
    result.report()
    details = failure_details(result, [serve.log])
    assert serve_alive, f"manage.py serve stopped (exit {serve.proc.returncode})\n{details}"
    assert probe.failures == 0, f"the web server did not answer for {probe.down:.1f} s\n{details}"
    assert done, f"the queue did not empty in time\n{details}"
    assert result.lost == 0, details
    return result, details


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_serve_keeps_answering_while_its_worker_is_killed(engine, database, make_peer, tmp_path):
    def kill_smsd(serve: Serve, result: Result):
        deadline = time.monotonic() + 60
        while (pid := serve.smsd_pid()) is None and time.monotonic() < deadline and serve.proc.poll() is None:
            time.sleep(0.05)  # serve may be starting it again
        if pid is None:
            return  # serve stopped, or runs no smsd: the assertions after the run say so
        os.kill(pid, signal.SIGKILL)  # a grandchild we started through serve, by PID
        time.sleep(0.1)
        result.kills += 1
        result.in_flight_at_kills.append(in_flight(database, peer, pid=pid))

    peer = make_peer()
    result, details = _run_serve(engine, database, peer, tmp_path, fault="serve-kill-smsd-x3",
                                 fault_step=kill_smsd, steps=KILLS)
    assert result.duplicates <= sum(result.in_flight_at_kills), details
    assert result.duplicates <= WINDOW * result.kills, details
    assert result.worker_exits == 0, details


def test_serve_keeps_answering_while_postgres_restarts(pg_cluster, cluster_database, make_peer, tmp_path):
    def restart(serve: Serve, result: Result):
        pg_cluster.restart(down_seconds=2.0)

    result, details = _run_serve("postgres", cluster_database, make_peer(), tmp_path, fault="serve-postgres-restart-x2",
                                 fault_step=restart, steps=DB_RESTARTS)
    assert result.duplicates == 0, details
    assert result.worker_exits == 0, details
