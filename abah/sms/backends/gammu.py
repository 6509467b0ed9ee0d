"""Gammu SMSD backend: outbound rows into Gammu's SQL outbox, statuses from sentitems, replies from inbox.

Gammu's database belongs to the modem daemon, not to Django: this backend opens its own connection
(``sqlite3`` or ``psycopg``) with OPTIONS such as::

    {"engine": "sqlite", "path": "/var/lib/gammu/smsd.db", "phone_id": "modem1", "creator_id": "abah"}
    {"engine": "postgresql", "dsn": "postgresql://gammu@127.0.0.1/smsd", "phone_id": "modem1"}

Part ids are ``<outbox ID>.<SequencePosition>``, the primary key of ``sentitems``. Gammu never reuses an
outbox ID, so they stay unique per gateway. Schema versions 17 (Gammu 1.38.5–1.43) and 18 (1.44) work.
"""

import logging
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from abah.sms import encoding

from .base import BaseSmsBackend, DeliveryReport, GatewayUnavailable, InboundSMS, SendResult

log = logging.getLogger("abah.sms.gammu")

SUPPORTED_VERSIONS = (17, 18)
CODING = {encoding.GSM7: "Default_No_Compression", encoding.UCS2: "Unicode_No_Compression"}

# sentitems.Status -> (final?, delivered?, words). Pending ones are left out: SendingOK, DeliveryPending.
FINAL_STATUSES = {
    "DeliveryOK": (True, ""),
    # The modem sent it and no report was asked for: this is all we will ever know.
    "SendingOKNoReport": (True, ""),
    "DeliveryFailed": (False, "The delivery report says the message was not delivered"),
    "SendingError": (False, "The modem could not send the message"),
    "Error": (False, "Gammu reported an error while sending"),
}
PENDING_STATUSES = ("SendingOK", "DeliveryPending", "DeliveryUnknown", "Reserved")


class GammuSchemaError(ImproperlyConfigured):
    pass


class GammuBackend(BaseSmsBackend):
    """OPTIONS: engine ("sqlite" | "postgresql"), path or dsn, phone_id (SenderID: pin to one modem; blank:
    any), creator_id, delivery_report ("yes" | "no" | "default"), priority, status_interval (seconds
    between sentitems scans), heartbeat_grace (seconds the phones TimeOut may lag; 0:
    ignore the heartbeat), db_timezone,
    multipart_timeout (seconds to wait for the missing parts of an inbound message), connect_timeout,
    failover_after (seconds the modem must be down before the worker takes back what gammu-smsd has not
    started, for the other gateways of its route; 0: never)."""

    def __init__(self, name="default", *, engine="sqlite", path="", dsn="", dsn_env="", phone_id="",
                 creator_id="abah", delivery_report="yes", priority=0, status_interval=1.0, heartbeat_grace=30.0,
                 db_timezone="UTC", multipart_timeout=600.0, connect_timeout=10, failover_after=120.0, **options):
        super().__init__(name, **options)
        if engine not in ("sqlite", "postgresql"):
            raise ImproperlyConfigured(f"Gammu gateway {name}: engine must be 'sqlite' or 'postgresql'")
        self.engine = engine
        self.path = path
        self._dsn = dsn or (os.environ.get(dsn_env, "") if dsn_env else "")  # may hold a password: not logged
        self.phone_id = phone_id
        self.creator_id = creator_id
        self.delivery_report = delivery_report
        self.priority = int(priority)
        self.status_interval = float(status_interval)
        self.heartbeat_grace = float(heartbeat_grace)
        self.db_tz = ZoneInfo(db_timezone)
        self.multipart_timeout = float(multipart_timeout)
        self.connect_timeout = int(connect_timeout)
        self.failover_after = float(failover_after or 0)
        self.schema_version = None
        self._conn = None
        self._lock = threading.Lock()
        self._last_scan = 0.0
        self._ref = int.from_bytes(os.urandom(1), "big")

    def __repr__(self):
        return f"<GammuBackend {self.name} {self.engine} phone={self.phone_id or '*'}>"

    # ------------------------------------------------------------ connection

    @property
    def _pg(self) -> bool:
        return self.engine == "postgresql"

    def _connect(self):
        if self._pg:
            import psycopg

            return psycopg.connect(self._dsn, autocommit=True, connect_timeout=self.connect_timeout,
                                   options="-c timezone=UTC")
        if not self.path or not os.path.exists(self.path):
            raise GammuSchemaError(f"Gammu database {self.path!r} does not exist")
        return sqlite3.connect(self.path, timeout=15, isolation_level=None, check_same_thread=False)

    def _sql(self, query: str) -> str:
        return query if self._pg else query.replace("%s", "?")

    def _bool(self, value: bool):
        return value if self._pg else ("true" if value else "false")

    def _execute(self, query, params=(), *, fetch=True):
        cursor = self._conn.cursor()
        cursor.execute(self._sql(query), params)
        rows = cursor.fetchall() if fetch and cursor.description else []
        return rows, cursor

    def _transaction(self):
        return _Transaction(self)

    def open(self):
        if self._conn is not None:
            return False
        self._conn = self._connect()
        try:
            self.schema_version = self.check_schema()
        except Exception:
            self.close()
            raise
        return True

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def check_schema(self) -> int:
        """Gammu's schema version from its ``gammu`` table; a clear error when it is missing or unsupported."""
        try:
            rows, _ = self._execute('SELECT "Version" FROM gammu')
        except Exception as error:
            raise GammuSchemaError(
                f"Gammu gateway {self.name}: no 'gammu' table ({error.__class__.__name__}); is this the database "
                "gammu-smsd uses? Create it from /usr/share/doc/gammu-smsd/examples/{sqlite,pgsql}.sql"
            ) from error
        version = max((row[0] for row in rows), default=None)
        if version not in SUPPORTED_VERSIONS:
            raise GammuSchemaError(
                f"Gammu gateway {self.name}: schema version {version} is not supported "
                f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))}); upgrade the database with gammu-smsd's "
                "scripts or use Gammu 1.38.5–1.44"
            )
        return version

    # ------------------------------------------------------------ sending

    def _udh(self, ref: int, total: int, seq: int) -> str:
        return encoding.udh_concat(ref, total, seq).hex().upper()

    def send_messages(self, messages):
        try:
            if self._conn is None:
                self.open()
            return self._insert(messages)
        except Exception as error:
            # The outbox rows are written in one transaction: when it fails, none reached gammu-smsd, so the
            # worker may hand the batch to another gateway. The connection is rebuilt on the next call.
            self.close()
            raise GatewayUnavailable(f"Gammu database: {error}"[:255]) from error

    def _insert(self, messages):
        results = []
        with self._lock, self._transaction():
            for sms in messages:
                analysis = encoding.analyze(sms.text)
                parts = list(analysis.parts) or [""]
                coding = CODING[analysis.encoding]
                multipart = len(parts) > 1
                self._ref = (self._ref + 1) % 256
                udh = self._udh(self._ref, len(parts), 1) if multipart else None
                columns = ('"DestinationNumber", "TextDecoded", "CreatorID", "Coding", "DeliveryReport", "MultiPart", '
                           '"UDH", "Class", "SenderID", "Priority"')
                params = (sms.number, parts[0], f"{self.creator_id}:{sms.id}", coding, self.delivery_report,
                          self._bool(multipart), udh, -1, self.phone_id or None, self.priority)
                query = f"INSERT INTO outbox ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
                if self._pg:
                    rows, _ = self._execute(query + ' RETURNING "ID"', params)
                    outbox_id = rows[0][0]
                else:
                    _rows, cursor = self._execute(query, params, fetch=False)
                    outbox_id = cursor.lastrowid
                for seq, text in enumerate(parts[1:], start=2):
                    self._execute(
                        'INSERT INTO outbox_multipart ("ID", "SequencePosition", "TextDecoded", "UDH", "Coding", '
                        '"Class") VALUES (%s, %s, %s, %s, %s, %s)',
                        (outbox_id, seq, text, self._udh(self._ref, len(parts), seq), coding, -1), fetch=False,
                    )
                results.append(SendResult(sms.id, True, [f"{outbox_id}.{seq}" for seq in range(1, len(parts) + 1)]))
        return results

    # ------------------------------------------------------------ statuses and replies

    def poll(self, limit=1000):
        if self._conn is None:
            self.open()
        now = time.monotonic()
        reports = []
        if now - self._last_scan >= self.status_interval:
            self._last_scan = now
            reports = self._scan_sentitems(limit)
        return reports, self._read_inbox(limit)

    def _scan_sentitems(self, limit) -> list[DeliveryReport]:
        """Final statuses of the parts we are still waiting for (our SENT parts on this gateway)."""
        from abah.sms.models import MessagePart

        waiting = list(
            MessagePart.objects.filter(gateway=self.name, status=MessagePart.Status.SENT)
            .filter(~Q(gateway_message_id=""))
            .order_by("id")
            .values_list("gateway_message_id", flat=True)[: limit * 4]
        )
        if not waiting:
            return []
        outbox_ids = sorted({int(gid.split(".")[0]) for gid in waiting if gid.split(".")[0].isdigit()})
        wanted = set(waiting)
        reports = []
        for start in range(0, len(outbox_ids), 500):
            chunk = outbox_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            rows, _ = self._execute(
                f'SELECT "ID", "SequencePosition", "Status", "StatusError" FROM sentitems WHERE "ID" IN ({marks})',  # noqa: S608
                chunk,
            )
            for outbox_id, seq, status, status_error in rows:
                gid = f"{outbox_id}.{seq}"
                if gid not in wanted or status not in FINAL_STATUSES:
                    continue
                delivered = status in ("DeliveryOK", "SendingOKNoReport")
                words = FINAL_STATUSES[status][1]
                if status_error not in (None, -1) and not delivered:
                    words = f"{words} (TP-Status {status_error})"
                reports.append(DeliveryReport(gid, delivered, "" if delivered else status[:32], words))
        return reports[:limit]

    def _received_at(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return None
        return value.replace(tzinfo=self.db_tz).astimezone(UTC) if value.tzinfo is None else value

    def _read_inbox(self, limit) -> list[InboundSMS]:
        where = '"Processed" = %s AND "RecipientID" = %s' if self.phone_id else '"Processed" = %s'
        query = 'SELECT "ID", "SenderNumber", "TextDecoded", "UDH", "ReceivingDateTime", "RecipientID" FROM inbox'
        query += f' WHERE {where} ORDER BY "ID" LIMIT %s'  # noqa: S608 (placeholders only)
        rows, _ = self._execute(query, (self._bool(False), *([self.phone_id] if self.phone_id else []), limit * 4))
        messages, groups = [], {}
        for row_id, number, text, udh, received, _recipient in rows:
            concat = encoding.parse_concat(bytes.fromhex(udh)) if udh else None
            if concat is None or concat[1] == 1:
                messages.append((row_id, InboundSMS(number, text or "", f"gammu-{row_id}", self._received_at(received))))
                continue
            ref, total, seq = concat
            groups.setdefault((number, ref, total), {})[seq] = (row_id, text or "", received)
        # Gammu 1.42 (schema 17) joins the text into the first part's row and leaves the others empty; other
        # set-ups store one row per part. Joining the texts in order handles both.
        expired_before = datetime.now(UTC).timestamp() - self.multipart_timeout
        self._inbox_rows = {}
        for (number, _ref, total), parts in groups.items():
            first_id, _text, received = parts[min(parts)]
            received_at = self._received_at(received)
            complete = len(parts) == total
            if not complete and (received_at is None or received_at.timestamp() > expired_before):
                continue  # wait for the rest
            text = ("" if complete else " […] ").join(parts[seq][1] for seq in sorted(parts))
            sms = InboundSMS(number, text, f"gammu-{first_id}", received_at)
            messages.append((first_id, sms))
            self._inbox_rows[id(sms)] = [row_id for row_id, _t, _r in parts.values()]
        messages.sort(key=lambda pair: pair[0])
        result = [sms for _id, sms in messages[:limit]]
        for row_id, sms in messages[:limit]:
            self._inbox_rows.setdefault(id(sms), [row_id])
        self._pending_inbox = {id(sms): sms for sms in result}
        return result

    def acknowledge(self, reports, inbound):
        """Mark the committed replies processed in Gammu's inbox (a failed commit leaves them for next time)."""
        row_ids = []
        for sms in inbound:
            row_ids += getattr(self, "_inbox_rows", {}).get(id(sms), [])
        if not row_ids or self._conn is None:
            return
        with self._lock, self._transaction():
            for start in range(0, len(row_ids), 500):
                chunk = row_ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                self._execute(f'UPDATE inbox SET "Processed" = %s WHERE "ID" IN ({marks})',  # noqa: S608
                              (self._bool(True), *chunk), fetch=False)

    # ------------------------------------------------------------ taking messages back from a dead modem

    def _db_now(self):
        now = datetime.now(UTC).astimezone(self.db_tz).replace(tzinfo=None, microsecond=0)
        return now if self._pg else now.strftime("%Y-%m-%d %H:%M:%S")

    def take_back(self, limit: int = 500) -> list[str]:
        """Remove from Gammu's outbox our messages gammu-smsd has not started, and return the part ids of every
        one of our waiting parts that is now in neither ``outbox`` nor ``sentitems``: certainly never sent.

        A row is deleted only if no daemon holds it (``SendingTimeOut`` in the past: gammu-smsd takes a row by
        moving it into the future, in one statement) and no part of it reached ``sentitems``. Both checks are in
        the DELETE itself, so a gammu-smsd coming back at that moment either takes the row or finds it gone.
        The returned ids are computed from the tables, so a crash between the two steps loses nothing.
        """
        from abah.sms.models import MessagePart

        if self._conn is None:
            self.open()
        prefix = f"{self.creator_id}:"
        where = '"CreatorID" LIKE %s' + (' AND "SenderID" = %s' if self.phone_id else "")
        params = (prefix + "%", *([self.phone_id] if self.phone_id else []))
        rows, _ = self._execute(f'SELECT "ID" FROM outbox WHERE {where} ORDER BY "ID" LIMIT %s',  # noqa: S608
                                (*params, limit))
        with self._lock, self._transaction():
            for (outbox_id,) in rows:
                _rows, cursor = self._execute(
                    'DELETE FROM outbox WHERE "ID" = %s AND ("SendingTimeOut" IS NULL OR "SendingTimeOut" < %s) '
                    'AND NOT EXISTS (SELECT 1 FROM sentitems WHERE sentitems."ID" = %s)',
                    (outbox_id, self._db_now(), outbox_id), fetch=False,
                )
                if cursor.rowcount == 1:
                    self._execute('DELETE FROM outbox_multipart WHERE "ID" = %s', (outbox_id,), fetch=False)
        waiting = list(
            MessagePart.objects.filter(gateway=self.name, status=MessagePart.Status.SENT)
            .order_by("-id").values_list("gateway_message_id", flat=True)[: limit * 4]  # newest: a dead modem's
        )
        outbox_ids = sorted({int(gid.split(".")[0]) for gid in waiting if gid.split(".")[0].isdigit()})
        present = set()
        for start in range(0, len(outbox_ids), 500):
            chunk = outbox_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            for table in ("outbox", "sentitems"):
                found, _ = self._execute(f'SELECT DISTINCT "ID" FROM {table} WHERE "ID" IN ({marks})', chunk)  # noqa: S608
                present.update(row[0] for row in found)
        return [gid for gid in waiting if gid.split(".")[0].isdigit() and int(gid.split(".")[0]) not in present]

    # ------------------------------------------------------------ health

    def outbox_size(self) -> int:
        """Rows of ours (this modem's, when pinned) still in Gammu's outbox: the modem's backlog."""
        where = '"CreatorID" LIKE %s' + (' AND "SenderID" = %s' if self.phone_id else "")
        rows, _ = self._execute(f"SELECT COUNT(*) FROM outbox WHERE {where}",  # noqa: S608 (placeholders only)
                                (f"{self.creator_id}:%", *([self.phone_id] if self.phone_id else [])))
        return rows[0][0]

    def phones(self) -> list[dict]:
        """The modems gammu-smsd reports in ``phones``, with a heartbeat age in seconds."""
        query = 'SELECT "ID", "TimeOut", "Signal", "Battery", "Sent", "Received", "NetName", "IMEI" FROM phones'
        if self.phone_id:
            query += ' WHERE "ID" = %s'

        rows, _ = self._execute(query, (self.phone_id,) if self.phone_id else ())
        now = datetime.now(UTC)
        result = []
        for phone_id, timeout, signal, battery, sent, received, net_name, imei in rows:
            timeout_at = self._received_at(timeout)
            result.append({
                "id": phone_id, "signal": signal, "battery": battery, "sent": sent, "received": received,
                "network": net_name, "imei": imei,
                # heartbeat_grace 0: a registered modem counts as up whatever its heartbeat (StatusFrequency = 0)
                "alive": not self.heartbeat_grace or (
                    timeout_at is not None and (now - timeout_at).total_seconds() < self.heartbeat_grace),
                "stale_seconds": max(0, int((now - timeout_at).total_seconds())) if timeout_at else None,
            })
        return result

    def status(self):
        try:
            if self._conn is None:
                self.open()
            phones = self.phones()
        except Exception as error:
            return False, f"Gammu database: {error}"[:255]
        if not phones:
            return False, f"no modem: gammu-smsd has not registered {self.phone_id or 'any phone'} in 'phones'"
        alive = [p for p in phones if p["alive"]]
        described = "; ".join(
            f"{p['id']}: {'up' if p['alive'] else 'stale for ' + str(p['stale_seconds']) + ' s'}, signal "
            f"{p['signal'] if p['signal'] >= 0 else '?'}%, battery {p['battery'] if p['battery'] >= 0 else '?'}%, "
            f"sent {p['sent']}, received {p['received']}" for p in phones
        )
        if not alive:
            described = f"{described} (gammu-smsd stopped or hangs, or runs with StatusFrequency = 0)"
        return bool(alive), described[:255]

    def check(self, timeout: float = 10.0) -> list[tuple[bool, str]]:
        """Database reachable, schema version supported, a modem with a fresh heartbeat."""
        steps = []
        try:
            self._conn = self._conn or self._connect()
        except Exception as error:
            return [(False, f"cannot open Gammu's database: {error}")]
        steps.append((True, f"Gammu database ({self.engine}) opened"))
        try:
            version = self.check_schema()
            steps.append((True, f"schema version {version}"))
        except GammuSchemaError as error:
            steps.append((False, str(error)))
            return steps
        ok, detail = self.status()
        steps.append((ok, detail))
        self.close()
        return steps


class _Transaction:
    """BEGIN IMMEDIATE on SQLite (gammu-smsd writes the same file), a transaction block on PostgreSQL."""

    def __init__(self, backend: GammuBackend):
        self.backend = backend
        self.pg_tx = None

    def __enter__(self):
        if self.backend._pg:
            self.pg_tx = self.backend._conn.transaction()
            self.pg_tx.__enter__()
        else:
            self.backend._conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.backend._pg:
            return self.pg_tx.__exit__(exc_type, exc, tb)
        self.backend._conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
