"""A throwaway PostgreSQL cluster for the database-restart faults: initdb + pg_ctl on a free port.

Debian's binaries (/usr/lib/postgresql/<version>/bin), a data directory in a temporary folder, listening on
127.0.0.1 only (and a Unix socket in that folder, never /var/run/postgresql), trust authentication. Run as
the ``postgres`` OS user when we are root (PostgreSQL refuses to run as root). The shared server on 5432 is
never touched: every command here names this cluster's own data directory.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def bindir() -> Path | None:
    """The newest Debian PostgreSQL bin directory with initdb and pg_ctl, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    for initdb in reversed(found):
        path = Path(initdb).parent
        if (path / "pg_ctl").exists() and (path / "postgres").exists():
            return path
    return None


def available() -> tuple[bool, str]:
    path = bindir()
    if path is None:
        return False, ("PostgreSQL server binaries not found (/usr/lib/postgresql/<version>/bin/initdb; "
                       "apt-get install postgresql): the database-restart faults are skipped")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False, "running as root and there is no 'postgres' OS user to run a throwaway cluster"
        if not shutil.which("runuser"):
            return False, "running as root and runuser is missing: cannot start a throwaway cluster as postgres"
    return True, f"PostgreSQL binaries in {path}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgCluster:
    """``start()``, ``restart(down_seconds)``, ``destroy()``; ``url(dbname)`` for DATABASE_URL."""

    def __init__(self):
        self.bin = bindir()
        if self.bin is None:
            raise RuntimeError(available()[1])
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="abah-faults-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.restarts = 0
        self.running = False

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, tool: str, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        proc = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
                               f"\n{self.log_tail()}")
        return proc

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def init(self) -> "PgCluster":
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        return self

    def start(self) -> "PgCluster":
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "-o", options, "start")
        self.running = True
        self._wait_accepting()
        return self

    def _wait_accepting(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the throwaway cluster does not listen on 127.0.0.1:{self.port}\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)
        self.running = False

    def restart(self, down_seconds: float = 1.0, mode: str = "fast") -> float:
        """Stop the server (``fast``: every connection is cut, as in a restart by an operator; ``immediate``:
        a crash), keep it down ``down_seconds``, start it again. Returns the seconds it was down."""
        started = time.monotonic()
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1
        return time.monotonic() - started

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def destroy(self) -> None:
        if self.data.exists():
            pid = self._postmaster_pid()
            self.stop("immediate")
            pid_after = self._postmaster_pid()
            if pid_after is not None and pid_after == pid:  # pg_ctl could not stop it: our postmaster, by PID
                try:
                    os.kill(pid_after, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)
