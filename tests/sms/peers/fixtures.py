"""Real peers for the gateway tests: the local SMSC (smpp34) in a subprocess, and helpers to drive the worker."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import _require

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmscPeer:
    """The SMSC peer process; ``stop()`` kills it (SIGKILL: an SMSC crash), ``start()`` brings it back on
    the same port and journal, so it still owes the receipts it had not delivered.

    ``ids_from_one``: message ids "1", "2", … from 1 on every start (an SMSC whose counter restarts);
    ``no_resend``: each receipt is sent once, acknowledged or not (see smsc_peer)."""

    def __init__(self, workdir: Path, *, ids_from_one: bool = False, no_resend: bool = False):
        self.port = free_port()
        self.journal = workdir / "smsc-journal.jsonl"
        self.log = workdir / "smsc-peer.log"
        self.proc = None
        self.control_port = None
        self.starts = 0
        self.flags = [*(["--ids-from-one"] if ids_from_one else []), *(["--no-resend"] if no_resend else [])]

    def start(self, attempts: int = 50):
        for _ in range(attempts):  # the port may linger a moment after a kill
            with open(self.log, "a") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "tests.sms.peers.smsc_peer", "--port", str(self.port),
                     "--journal", str(self.journal), *self.flags],
                    cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                )
            line = proc.stdout.readline()
            if line.startswith("READY"):
                self.proc = proc
                self.control_port = int(line.split()[2])
                self.starts += 1
                return self
            proc.kill()
            proc.wait(timeout=5)
            time.sleep(0.1)
        raise RuntimeError(f"the SMSC peer did not start on port {self.port}; see {self.log}")

    def stop(self):
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)  # our own child, by PID
            self.proc.wait(timeout=10)
            self.proc = None

    def command(self, line: str) -> str:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=10) as sock:
            sock.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        return data.decode().strip()

    def stats(self) -> dict:
        return json.loads(self.command("stats"))

    def submitted(self) -> int:
        """Accepted submit_sm over every run of this journal (cheap: for a test's progress loop)."""
        return int(self.command("submits"))

    def raw(self, source: str, dest: str, data_coding: int, data: bytes, *, esm_class: int = 0) -> None:
        """One deliver_sm with exactly these bytes and this data_coding (odd inbound data)."""
        self.wait_for_session()
        answer = self.command(f"raw {source} {dest} {data_coding} {data.hex()} {esm_class}")
        assert answer.startswith("ok "), answer

    def journal_records(self) -> list[dict]:
        """The peer's own record (it survives the peer being killed): start, submit, owe, paid, tried."""
        return read_journal(self.journal)

    def submits_by_destination(self) -> dict[str, list[dict]]:
        """Each destination's accepted submits (journal records with id, run and time), all runs together."""
        result: dict[str, list[dict]] = {}
        for record in self.journal_records():
            if record["op"] == "submit":
                result.setdefault(record["dst"], []).append(record)
        return result

    def wait_for_session(self, timeout: float = 10.0) -> None:
        """Our side may report "bound" before the peer's event loop has registered the session."""
        deadline = time.monotonic() + timeout
        while self.stats()["sessions"] < 1:
            assert time.monotonic() < deadline, "no ESME bound to the SMSC peer"
            time.sleep(0.02)

    def mo(self, source: str, dest: str, text: str, *, alphabet: str = "gsm", sar: bool = False) -> int:
        self.wait_for_session()
        answer = self.command(f"mo {source} {dest} {alphabet} {text.encode().hex()}{' sar' if sar else ''}")
        assert answer.startswith("ok "), answer
        return int(answer.split()[1])


def read_journal(path: Path) -> list[dict]:
    records = []
    if not Path(path).exists():
        return records
    with open(path) as journal:
        for line in journal:
            try:
                records.append(json.loads(line))
            except ValueError:  # a line cut short by a kill
                continue
    return records


@pytest.fixture
def smsc(tmp_path):
    peer = SmscPeer(tmp_path).start()
    yield peer
    peer.stop()


def smpp_gateway(peer: SmscPeer, **options) -> dict:
    return {
        "BACKEND": "abah.sms.backends.smpp.SmppBackend",
        "OPTIONS": {
            "host": "127.0.0.1", "port": peer.port, "system_id": "abah", "password_env": "ABAH_TEST_SMPP_PASSWORD",
            "source_addr": "ABAH", "window": 16, "connect_wait": 5, "reconnect_min": 0.05, "reconnect_max": 0.5,
            "response_timeout": 5, **options,
        },
    }


@pytest.fixture
def require_gammu():
    from tests import components

    _require(components.gammu_available)


def run_until(daemon, done, *, rounds: int = 600, pause: float = 0.05) -> int:
    """Tick the worker until ``done()`` holds (bounded); returns the number of rounds it took."""
    for round_number in range(1, rounds + 1):
        daemon.tick(drain=True)
        if done():
            return round_number
        time.sleep(pause)
    return rounds + 1
