"""A real gammu-smsd with the dummy phone driver (a folder stands in for the modem) on its own database."""

import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

SCHEMAS = Path("/usr/share/doc/gammu-smsd/examples")


def _schema(name: str) -> str:
    plain, packed = SCHEMAS / name, SCHEMAS / f"{name}.gz"
    if plain.exists():
        return plain.read_text()
    import gzip

    return gzip.decompress(packed.read_bytes()).decode()


def _now() -> str:
    # SMSD refuses a report whose time is far from the sending time (DeliveryReportDelay); it runs with TZ=UTC.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


class GammuPeer:
    """gammu-smsd on a fresh database: SQLite in a temp folder, or PostgreSQL ``gammu_test_<random>``."""

    def __init__(self, workdir: Path, engine: str = "sqlite", pg_url: str = "", *, loop_sleep: int = 1):
        self.workdir = workdir
        self.loop_sleep = loop_sleep  # 0: gammu-smsd looks at its outbox again at once (fast tests)
        self.engine = engine
        self.device = workdir / "modem"
        self.db_path = workdir / "smsd.db"
        self.log = workdir / "smsd.log"
        self.proc = None
        self.pg_url = pg_url
        self.pg_db = f"gammu_test_{uuid.uuid4().hex[:10]}"
        self._files = itertools.count(1)

    # ------------------------------------------------------------ database

    def create_database(self, version: int | None = None):
        if self.engine == "sqlite":
            with sqlite3.connect(self.db_path) as conn:
                conn.executescript(_schema("sqlite.sql"))
                if version is not None:
                    conn.execute("UPDATE gammu SET Version = ?", (version,))
            return
        import psycopg

        with psycopg.connect(self._pg_dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.pg_db}"')
        ddl = "\n".join(line for line in _schema("pgsql.sql").splitlines() if not line.startswith("CREATE LANGUAGE"))
        with psycopg.connect(self._pg_dsn(self.pg_db), autocommit=True) as conn:
            conn.execute(ddl)
            if version is not None:
                conn.execute('UPDATE gammu SET "Version" = %s', (version,))

    def drop_database(self):
        if self.engine != "postgresql":
            return
        import psycopg

        with psycopg.connect(self._pg_dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')

    def _pg_dsn(self, database: str) -> str:
        url = urlparse(self.pg_url)
        user = url.username or "postgres"
        password = f" password={url.password}" if url.password else ""
        return f"host={url.hostname or '127.0.0.1'} port={url.port or 5432} user={user}{password} dbname={database}"

    def options(self, **extra) -> dict:
        if self.engine == "sqlite":
            base = {"engine": "sqlite", "path": str(self.db_path)}
        else:
            base = {"engine": "postgresql", "dsn": self._pg_dsn(self.pg_db)}
        return {**base, "phone_id": "dummy1", "creator_id": "abah", "status_interval": 0.2, **extra}

    def query(self, sql: str, params=()):
        if self.engine == "sqlite":
            with sqlite3.connect(self.db_path, timeout=15) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self._pg_dsn(self.pg_db), autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------ daemon

    def config(self) -> Path:
        if self.engine == "sqlite":
            database = f"Driver = sqlite3\nSQL = sqlite\nDBDir = {self.workdir}\nDatabase = smsd.db\n"
        else:
            url = urlparse(self.pg_url)
            database = (f"Driver = native_pgsql\nHost = {url.hostname or '127.0.0.1'}:{url.port or 5432}\n"
                        f"User = {url.username or 'postgres'}\nPassword = {url.password or ''}\nDatabase = {self.pg_db}\n")
        path = self.workdir / "smsdrc"
        path.write_text(
            f"[gammu]\ndevice = {self.device}\nmodel = dummy\nconnection = none\n\n"
            f"[smsd]\nService = sql\n{database}PhoneID = dummy1\nLogFile = {self.log}\nDebugLevel = 1\n"
            f"CommTimeout = 1\nSendTimeout = 5\nReceiveFrequency = 1\nStatusFrequency = 1\nLoopSleep = {self.loop_sleep}\n"
            "DeliveryReport = sms\nCheckSecurity = 0\nCheckBattery = 1\nCheckSignal = 1\nCheckNetwork = 0\n"
        )
        return path

    def start(self):
        self.device.mkdir(parents=True, exist_ok=True)  # the dummy driver needs the folder to exist
        env = {**os.environ, "TZ": "UTC", "PGTZ": "UTC"}  # SQLite defaults are UTC; SMSD compares in local time
        self.proc = subprocess.Popen([shutil.which("gammu-smsd"), "-c", str(self.config())], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):  # bounded: ~20 s for the phone to register
            if self.proc.poll() is not None:
                raise RuntimeError(f"gammu-smsd exited with {self.proc.returncode}; see {self.log}")
            if self.query('SELECT "ID" FROM phones'):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"gammu-smsd did not register its phone; see {self.log}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # our own child, by PID
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    # ------------------------------------------------------------ what the modem did

    def sent_on_device(self) -> int:
        """SMS (parts) the dummy modem transmitted, from gammu-smsd's own log: the count an institution's phone
        would see, whatever the tables say."""
        if not self.log.exists():
            return 0
        return sum(1 for line in self.log.read_text(errors="replace").splitlines() if "SMS sent on device" in line)

    def ids_by_creator(self, prefix: str = "abah:") -> dict[str, set[int]]:
        """{CreatorID: outbox IDs} over outbox and sentitems: more than one ID is a message queued twice."""
        found: dict[str, set[int]] = {}
        for table in ("outbox", "sentitems"):
            query = f'SELECT "CreatorID", "ID" FROM {table} WHERE "CreatorID" LIKE %s'  # noqa: S608 (two names)
            for creator, outbox_id in self.query(query, (prefix + "%",)):
                found.setdefault(creator, set()).add(outbox_id)
        return found

    # ------------------------------------------------------------ the "network"

    def _drop(self, **fields):
        """An SMS-backup file in the dummy modem's inbox folder (written aside, renamed in: atomic)."""
        inbox = self.device / "sms" / "1"
        inbox.mkdir(parents=True, exist_ok=True)
        name = str(next(self._files))
        body = "[SMSBackup000]\n" + "".join(f"{key} = {value}\n" for key, value in fields.items())
        aside = self.workdir / f"drop-{name}"
        aside.write_text(body)
        while (inbox / name).exists():
            name = str(next(self._files))
        os.rename(aside, inbox / name)

    def receive(self, number: str, text: str, *, udh: str = "", unicode: bool = False):
        fields = {"SMSC": '"+123456"', "PDU": "Deliver", "DateTime": _now(), "State": "UnRead", "Number": f'"{number}"',
                  "Text00": text.encode("utf-16-be").hex().upper(), "Coding": "Unicode" if unicode else "Default",
                  "Folder": 1, "Length": len(text), "Class": -1}
        if udh:
            fields["UDH"] = udh
        self._drop(**fields)

    def report(self, number: str, status: str = "Delivered"):
        """A delivery report for the last message to ``number`` (the dummy phone gives every SMS TPMR 255)."""
        self._drop(SMSC='"123456"', PDU="Status_Report", DateTime=_now(), State="UnRead",
                   Number=f'"{number}"', MessageReference=255, Text00=status.encode("utf-16-be").hex().upper(),
                   Coding="Default", Folder=1, Length=len(status), Class=-1)


# ------------------------------------------------------------ a worker that dies between Gammu's commit and ours

def insert_and_die(options: dict, messages: list[tuple], *, gateway: str = "modem") -> tuple[int, list[list[str]]]:
    """Run GammuBackend.send_messages for ``messages`` ((id, number, text, attempt) each) in a child process
    that SIGKILLs itself as soon as the call returns: the outbox INSERT is committed in Gammu's database, the
    worker's own commit never happens. Returns (the child's exit status, the part ids it got)."""
    import json
    import sys

    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "tests.sms.peers.gammu_peer", "--insert-and-die",
         json.dumps({"gateway": gateway, "options": options, "messages": messages})],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    parts = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("[")]
    if proc.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the child should have died by SIGKILL, got {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.returncode, parts


def _insert_and_die(spec: str) -> None:
    import json
    import sys

    import django

    django.setup()
    from abah.sms.backends.base import OutgoingSMS
    from abah.sms.backends.gammu import GammuBackend

    data = json.loads(spec)
    backend = GammuBackend(data["gateway"], **data["options"])
    results = backend.send_messages([OutgoingSMS(*message) for message in data["messages"]])
    for result in results:
        sys.stdout.write(json.dumps(result.part_ids) + "\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # the worker dies here: Gammu has the rows, our database never hears


def _claim_insert_and_die(gateway: str, batch: str, lease: str, worker_id: str) -> None:
    """A worker that claims a batch from the database of DATABASE_URL as ``manage.py smsd`` does (the real
    Daemon.claim), hands it to its Gammu gateway, and is SIGKILLed right after Gammu's commit."""
    import json
    import sys

    import django

    django.setup()
    from abah.sms.backends.base import OutgoingSMS
    from abah.sms.daemon import Daemon

    daemon = Daemon(gateway=gateway, batch_size=int(batch), lease_seconds=float(lease), worker_id=worker_id)
    claimed = daemon.claim()
    results = daemon.backend.send_messages([OutgoingSMS(pk, number, text, attempts)
                                            for pk, number, text, attempts in claimed]) if claimed else []
    sys.stdout.write(json.dumps({"claimed": len(claimed), "parts": sum(len(r.part_ids) for r in results)}) + "\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--insert-and-die":
        _insert_and_die(sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == "--claim-insert-and-die":
        _claim_insert_and_die(*sys.argv[2:])
