"""Real processes (manage.py serve, smsd) against one database that the test can read too.

PostgreSQL: the pytest test database (the test is marked ``django_db(transaction=True)``, so that the
processes see the test's rows and the test sees theirs). SQLite: pytest-django's test database lives in memory, which no other process can open, so the
test gets its own file database, migrated by ``manage.py migrate`` in a subprocess.
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SharedDatabase:
    url: str
    env: dict
    sqlite_path: Path | None = None

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run a query on the shared database (``%s`` placeholders)."""
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path, timeout=20) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def manage(self, *argv: str, timeout: float = 120) -> str:
        done = subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=self.env, capture_output=True,  # noqa: S603
                              text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)


def process_env(url: str, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "PYTHONUNBUFFERED": "1", **extra}
    for name in ("TEST_DATABASE_NAME", "SMS_GATEWAYS", "SMS_GATEWAY_BACKEND", "SMS_GATEWAY_OPTIONS"):
        if name not in extra:
            env.pop(name, None)
    return env


@pytest.fixture
def shared_db(request, tmp_path):
    """A database shared by the test and the processes it starts (see the module docstring); the test must be
    marked ``@pytest.mark.django_db(transaction=True)``."""
    from django.db import connection

    marker = request.node.get_closest_marker("django_db")
    assert marker and marker.kwargs.get("transaction"), "mark the test django_db(transaction=True)"
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        url = (f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
               f"{settings['PORT'] or 5432}/{settings['NAME']}")
        yield SharedDatabase(url, process_env(url))
        return
    path = tmp_path / "shared.sqlite3"
    url = f"sqlite:///{path}"
    shared = SharedDatabase(url, process_env(url), sqlite_path=path)
    shared.manage("migrate", "--no-input", "-v", "0")
    yield shared


def stop_process(proc: subprocess.Popen, *, timeout: float = 30) -> int:
    """SIGTERM our own child by PID and wait; SIGKILL if it does not stop in time."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.returncode


def kill_if_alive(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for(predicate, *, timeout: float, pause: float = 0.1, message: str = "condition"):
    """Poll ``predicate`` until it returns something true (bounded); returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(pause)


def gateways_json(backend: str, **options) -> str:
    return json.dumps({"default": {"BACKEND": backend, "OPTIONS": options}})
