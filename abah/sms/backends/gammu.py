"""Gammu SMSD backend: outbound rows into Gammu's SQL outbox, statuses from sentitems, replies from inbox.

Gammu's database belongs to the modem daemon, not to Django: this backend opens its own connection
(``sqlite3`` or ``psycopg``) with OPTIONS such as::

    {"engine": "sqlite", "path": "/var/lib/gammu/smsd.db", "phone_id": "modem1", "creator_id": "abah"}
    {"engine": "postgresql", "dsn": "postgresql://gammu@127.0.0.1/smsd", "phone_id": "modem1"}

Part ids are ``<outbox ID>.<SequencePosition>``, the primary key of ``sentitems``. Gammu never reuses an
outbox ID, so they stay unique per gateway. Schema versions 17 (Gammu 1.38.5–1.43) and 18 (1.44) work.

Exactly once: every outbox row carries ``CreatorID = "<creator_id>:<message id>"``. A message on its second
or later attempt (its worker may have died after Gammu's INSERT committed and before ours did) is first looked
for in ``outbox`` and ``sentitems``; when it is there, its existing part ids are returned instead of a new row.

Statuses are read by what changed: a cursor over ``sentitems."UpdatedInDB"`` (Gammu's triggers set it on every
status change, in Gammu's own clock and time zone; the cursor only ever holds values read from that column, so
no clock or zone is compared), re-reading an overlap window and skipping what was already handed over. A
catch-up pass over every part we still wait for (keyset-paginated on our side) runs at start, after a
reconciliation found an already-sent message, and every ``catchup_interval`` seconds as a safety net.
"""

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured

from abah.core.text import clean_text
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
CHUNK = 500  # ids per IN (...) list, parts per catch-up step
CATCHUP_CHUNKS = 20  # catch-up steps per poll at most (10,000 waiting parts), so a poll stays short


class GammuSchemaError(ImproperlyConfigured):
    pass


class GammuBackend(BaseSmsBackend):
    """OPTIONS: engine ("sqlite" | "postgresql"), path or dsn, phone_id (SenderID: pin to one modem; blank:
    any), creator_id, delivery_report ("yes" | "no" | "default"), priority, status_interval (seconds
    between sentitems scans), heartbeat_grace (seconds the phones TimeOut may lag; 0:
    ignore the heartbeat), db_timezone,
    multipart_timeout (seconds to wait for the missing parts of an inbound message), connect_timeout,
    failover_after (seconds the modem must be down before the worker takes back what gammu-smsd has not
    started, for the other gateways of its route; 0: never), status_overlap (seconds of ``UpdatedInDB`` read
    again on each status scan: late commits, second resolution), catchup_interval (seconds between full
    passes over every waiting part; 0: only at start and after a reconciliation)."""

    def __init__(self, name="default", *, engine="sqlite", path="", dsn="", dsn_env="", phone_id="",
                 creator_id="abah", delivery_report="yes", priority=0, status_interval=1.0, heartbeat_grace=30.0,
                 db_timezone="UTC", multipart_timeout=600.0, connect_timeout=10, failover_after=120.0,
                 status_overlap=60.0, catchup_interval=900.0, **options):
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
        self.status_overlap = timedelta(seconds=float(status_overlap))
        self.catchup_interval = float(catchup_interval or 0)
        # Status reading state. Only what has been acknowledged (committed in our database) moves it on.
        self._cursor_known = False  # False: the cursor is unknown (start): take it, then catch up
        self._cursor = None  # newest "UpdatedInDB" read (naive datetime, Gammu's clock); None: from the start
        self._catchup = None  # our MessagePart pk a catch-up pass has reached; None: no pass under way
        self._catchup_due = False  # a reconciliation found a sent message: its status may predate the cursor
        self._catchup_done_at = time.monotonic()
        self._seen: dict[str, tuple[str, datetime | None]] = {}  # reported within the overlap: not again
        self._pending = None  # (part ids handed over, state to keep once they are acknowledged)
        self._unacked_rows: set[int] = set()  # inbox rows stored by us that could not be marked processed yet

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
        conn = sqlite3.connect(self.path, timeout=15, isolation_level=None, check_same_thread=False)
        # A row with bytes that are not UTF-8 (8-bit data) must not make the whole SELECT fail.
        conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
        return conn

    @contextmanager
    def _guard(self):
        """Open the connection if needed; on any error close it, so that the next call reconnects instead of
        using a broken connection (or an SQLite transaction left open) for ever, then re-raise."""
        try:
            if self._conn is None:
                self.open()
            yield
        except Exception:
            self.close()
            raise

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
        self._pending = None  # handed-over reports not acknowledged: read again after the reconnection
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # a connection already broken: nothing more to release
                log.debug("closing a broken Gammu connection", exc_info=True)
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

    def _creator(self, message_id: int) -> str:
        return f"{self.creator_id}:{message_id}"

    def _already_in_gammu(self, messages) -> dict[int, tuple[int, bool]]:
        """{message id: (outbox ID, sent?)} for those of ``messages`` that an earlier attempt already put into
        Gammu (``outbox``: waiting or being sent; ``sentitems``: sent). One query per table per batch; the
        newest ID wins should a message be there twice (written before this check existed). A row that
        take_back deleted is in neither table: the message is inserted again, rightly."""
        wanted = {self._creator(sms.id): sms.id for sms in messages}
        found: dict[int, tuple[int, bool]] = {}
        creators = list(wanted)
        for table in ("outbox", "sentitems"):
            for start in range(0, len(creators), CHUNK):
                chunk = creators[start : start + CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                rows, _ = self._execute(
                    f'SELECT "CreatorID", MAX("ID") FROM {table} WHERE "CreatorID" IN ({marks}) '  # noqa: S608
                    'GROUP BY "CreatorID"', chunk,
                )
                for creator, outbox_id in rows:
                    message_id = wanted[creator]
                    previous = found.get(message_id)
                    if previous is None or outbox_id > previous[0]:
                        found[message_id] = (outbox_id, table == "sentitems")
                    elif outbox_id == previous[0] and table == "sentitems":
                        found[message_id] = (outbox_id, True)
        return found

    def _insert(self, messages):
        results = []
        with self._lock, self._transaction():
            # Only a retried message can already be in Gammu (its worker died between Gammu's commit and
            # ours): the first attempt, the hot path, does no lookup. Inside the transaction: on SQLite it is
            # BEGIN IMMEDIATE, so nothing can slip in between the lookup and the INSERT.
            retried = [sms for sms in messages if getattr(sms, "attempt", 1) > 1]
            existing = self._already_in_gammu(retried) if retried else {}
            for sms in messages:
                analysis = encoding.analyze(sms.text)
                parts = list(analysis.parts) or [""]
                if sms.id in existing:
                    outbox_id, sent = existing[sms.id]
                    log.warning("message %s is already in Gammu's %s (ID %s) from an earlier attempt: not inserted "
                                "again", sms.id, "sentitems" if sent else "outbox", outbox_id)
                    if sent:
                        self._catchup_due = True  # its status may be older than the status cursor
                    results.append(SendResult(sms.id, True,
                                              [f"{outbox_id}.{seq}" for seq in range(1, len(parts) + 1)]))
                    continue
                coding = CODING[analysis.encoding]
                multipart = len(parts) > 1
                self._ref = (self._ref + 1) % 256
                udh = self._udh(self._ref, len(parts), 1) if multipart else None
                columns = ('"DestinationNumber", "TextDecoded", "CreatorID", "Coding", "DeliveryReport", "MultiPart", '
                           '"UDH", "Class", "SenderID", "Priority"')
                params = (sms.number, parts[0], self._creator(sms.id), coding, self.delivery_report,
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
        with self._guard():
            if self._unacked_rows:
                self._mark_processed(sorted(self._unacked_rows))
                self._unacked_rows.clear()
            now = time.monotonic()
            reports = []
            if now - self._last_scan >= self.status_interval:
                self._last_scan = now
                reports = self._read_statuses(limit)
            return reports, self._read_inbox(limit)

    def _stamp(self, value) -> datetime | None:
        """An ``UpdatedInDB`` value as a naive datetime in Gammu's own clock (SQLite stores text)."""
        if value is None or isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None

    def _param(self, stamp: datetime):
        return stamp if self._pg else stamp.strftime("%Y-%m-%d %H:%M:%S")

    def _report(self, outbox_id, seq, status, status_error) -> DeliveryReport:
        delivered = status in ("DeliveryOK", "SendingOKNoReport")
        words = FINAL_STATUSES[status][1]
        if status_error not in (None, -1) and not delivered:
            words = f"{words} (TP-Status {status_error})"
        return DeliveryReport(f"{outbox_id}.{seq}", delivered, "" if delivered else status[:32], words)

    def _read_statuses(self, limit) -> list[DeliveryReport]:
        """Final statuses that changed since the last acknowledged scan, plus a catch-up step when one is due.

        What is handed over moves the state on only once ``acknowledge`` says it is committed on our side: a
        poll whose transaction failed is simply read again."""
        cursor_known, cursor, catchup = self._cursor_known, self._cursor, self._catchup
        started = False
        if not cursor_known:
            # Start (or unknown cursor): changes from now on come through the cursor, everything older through
            # a full catch-up pass. The newest value is taken before the pass, so nothing falls in between.
            rows, _ = self._execute('SELECT MAX("UpdatedInDB") FROM sentitems')
            cursor, cursor_known, catchup, started = self._stamp(rows[0][0] if rows else None), True, 0, True
        elif catchup is None and (self._catchup_due or (
                self.catchup_interval and time.monotonic() - self._catchup_done_at >= self.catchup_interval)):
            catchup, started = 0, True
        seen = dict(self._seen)
        reports: list[DeliveryReport] = []

        def take(outbox_id, seq, status, status_error, updated) -> bool:
            """Hand over one row's status if it is final and new; False when the batch is full."""
            gid = f"{outbox_id}.{seq}"
            if status not in FINAL_STATUSES or seen.get(gid, ("",))[0] == status:
                return True
            if len(reports) >= limit:
                return False
            reports.append(self._report(outbox_id, seq, status, status_error))
            seen[gid] = (status, self._stamp(updated))
            return True

        if catchup is not None:
            catchup = self._catch_up_step(catchup, limit, take)
            if catchup is None:
                self._catchup_done_at = time.monotonic()
        newest = cursor
        if len(reports) < limit:
            where = '"CreatorID" LIKE %s AND "Status" IN (' + ", ".join(["%s"] * len(FINAL_STATUSES)) + ")"
            params = [f"{self.creator_id}:%", *FINAL_STATUSES]
            if self.phone_id:
                where += ' AND "SenderID" = %s'
                params.append(self.phone_id)
            if cursor is not None:
                where += ' AND "UpdatedInDB" >= %s'
                params.append(self._param(cursor - self.status_overlap))
            rows, _ = self._execute(
                'SELECT "ID", "SequencePosition", "Status", "StatusError", "UpdatedInDB" FROM sentitems '  # noqa: S608
                f'WHERE {where} ORDER BY "UpdatedInDB", "ID", "SequencePosition"', params,
            )
            for outbox_id, seq, status, status_error, updated in rows:
                if not take(outbox_id, seq, status, status_error, updated):
                    break  # full: the cursor stays before the first change not handed over
                stamp = self._stamp(updated)
                if stamp is not None and (newest is None or stamp > newest):
                    newest = stamp
        if newest is not None:
            horizon = newest - self.status_overlap
            seen = {gid: value for gid, value in seen.items() if value[1] is None or value[1] >= horizon}
        state = (cursor_known, newest, catchup, seen, started)
        if catchup is not None or len(reports) >= limit:
            self._last_scan = 0.0  # more to read: at the next poll, not after status_interval
        if reports:
            self._pending = ({r.gateway_message_id for r in reports}, state)
        else:
            self._keep(state)
        return reports

    def _keep(self, state) -> None:
        self._cursor_known, self._cursor, self._catchup, self._seen, started = state
        if started:
            self._catchup_due = False  # the pass started reaches every part recorded since (higher pk)
        self._pending = None

    def _catch_up_step(self, position: int, limit: int, take) -> int | None:
        """Read the current status of our waiting parts (SENT on this gateway) after ``position`` (our
        MessagePart pk), a chunk at a time; returns where to go on next time, or None once every one was read."""
        from abah.sms.models import MessagePart

        for _ in range(CATCHUP_CHUNKS):
            waiting = list(
                MessagePart.objects.filter(gateway=self.name, status=MessagePart.Status.SENT, id__gt=position)
                .order_by("id").values_list("id", "gateway_message_id")[:CHUNK]
            )
            if not waiting:
                return None
            wanted = {gid for _pk, gid in waiting}
            outbox_ids = sorted({int(gid.split(".")[0]) for gid in wanted if gid.split(".")[0].isdigit()})
            if outbox_ids:
                marks = ", ".join(["%s"] * len(outbox_ids))
                rows, _ = self._execute(
                    'SELECT "ID", "SequencePosition", "Status", "StatusError", "UpdatedInDB" FROM sentitems '  # noqa: S608
                    f'WHERE "ID" IN ({marks}) ORDER BY "ID", "SequencePosition"', outbox_ids,
                )
                full = False
                for outbox_id, seq, status, status_error, updated in rows:
                    if f"{outbox_id}.{seq}" in wanted and not take(outbox_id, seq, status, status_error, updated):
                        full = True
                        break
                if full:  # this chunk again next time (what was handed over is settled by then, or skipped)
                    return position
            position = waiting[-1][0]
            if len(waiting) < CHUNK:
                return None
        return position

    def _received_at(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return None
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=self.db_tz).astimezone(UTC) if value.tzinfo is None else value

    def _concat(self, row_id, udh):
        """(reference, total, sequence) from an inbox row's UDH; None (a message on its own) when there is none
        or it cannot be read: one bad row must not stop the others."""
        if not udh:
            return None
        try:
            raw = udh if isinstance(udh, bytes | bytearray | memoryview) else bytes.fromhex(str(udh).strip())
            return encoding.parse_concat(bytes(raw))
        except (ValueError, TypeError, IndexError):
            log.warning("Gammu inbox row %s: unreadable UDH %r, taken as a message on its own", row_id, str(udh)[:40])
            return None

    def _read_inbox(self, limit) -> list[InboundSMS]:
        where = '"Processed" = %s AND "RecipientID" = %s' if self.phone_id else '"Processed" = %s'
        query = 'SELECT "ID", "SenderNumber", "TextDecoded", "UDH", "ReceivingDateTime", "RecipientID" FROM inbox'
        query += f' WHERE {where} ORDER BY "ID" LIMIT %s'  # noqa: S608 (placeholders only)
        rows, _ = self._execute(query, (self._bool(False), *([self.phone_id] if self.phone_id else []), limit * 4))
        messages, groups, unusable = [], {}, []
        for row in rows:
            row_id = row[0]
            try:
                _id, number, text, udh, received, _recipient = row
                number, text = clean_text(number).strip(), clean_text(text)  # NUL, lone surrogates, controls
                concat = self._concat(row_id, udh)
                if concat is None or concat[1] == 1:
                    messages.append((row_id, InboundSMS(number, text, f"gammu-{row_id}", self._received_at(received))))
                    continue
                ref, total, seq = concat
                groups.setdefault((number, ref, total), {})[seq] = (row_id, text, received)
            except Exception:
                log.exception("Gammu inbox row %s cannot be read; marked processed and left in Gammu's inbox", row_id)
                unusable.append(row_id)
        if unusable:
            self._mark_processed(unusable)
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

    def _mark_processed(self, row_ids) -> None:
        with self._lock, self._transaction():
            for start in range(0, len(row_ids), CHUNK):
                chunk = row_ids[start : start + CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                self._execute(f'UPDATE inbox SET "Processed" = %s WHERE "ID" IN ({marks})',  # noqa: S608
                              (self._bool(True), *chunk), fetch=False)

    def acknowledge(self, reports, inbound):
        """Called once the reports and replies are committed on our side: the status cursor moves on, and the
        replies are marked processed in Gammu's inbox (a failed commit leaves both for next time). Should
        Gammu's database be away now, the rows are remembered and marked first thing on the next poll, so a
        reply is never stored twice."""
        if self._pending is not None and reports:
            handed, state = self._pending
            if handed <= {r.gateway_message_id for r in reports}:
                self._keep(state)
        row_ids = []
        for sms in inbound:
            row_ids += getattr(self, "_inbox_rows", {}).get(id(sms), [])
        if not row_ids:
            return
        if self._conn is None:
            self._unacked_rows.update(row_ids)
            return
        try:
            self._mark_processed(row_ids)
        except Exception as error:
            log.warning("Gammu database: could not mark %d stored replies processed (%s); will retry",
                        len(row_ids), error)
            self._unacked_rows.update(row_ids)
            self.close()

    # ------------------------------------------------------------ taking messages back from a dead modem

    def _db_now(self):
        now = datetime.now(UTC).astimezone(self.db_tz).replace(tzinfo=None, microsecond=0)
        return now if self._pg else now.strftime("%Y-%m-%d %H:%M:%S")

    def take_back(self, limit: int = 500) -> list[str]:
        """Remove from Gammu's outbox our messages gammu-smsd has not started, and return the part ids of our
        waiting parts that are now in neither ``outbox`` nor ``sentitems``: certainly never sent.

        A row is deleted only if no daemon holds it (``SendingTimeOut`` in the past: gammu-smsd takes a row by
        moving it into the future, in one statement) and no part of it reached ``sentitems``. Both checks are in
        the DELETE itself, so a gammu-smsd coming back at that moment either takes the row or finds it gone.
        The parts of the rows deleted now are returned, and so are those found missing in a window of waiting
        parts that moves on at each call and wraps around (keyset on our side): a crash between the two steps
        loses nothing, however many parts wait.
        """
        from abah.sms.models import MessagePart

        with self._guard():
            prefix = f"{self.creator_id}:"
            where = '"CreatorID" LIKE %s' + (' AND "SenderID" = %s' if self.phone_id else "")
            params = (prefix + "%", *([self.phone_id] if self.phone_id else []))
            rows, _ = self._execute(f'SELECT "ID" FROM outbox WHERE {where} ORDER BY "ID" LIMIT %s',  # noqa: S608
                                    (*params, limit))
            returned: list[str] = []
            with self._lock, self._transaction():
                for (outbox_id,) in rows:
                    extra, _ = self._execute('SELECT COUNT(*) FROM outbox_multipart WHERE "ID" = %s', (outbox_id,))
                    _rows, cursor = self._execute(
                        'DELETE FROM outbox WHERE "ID" = %s AND ("SendingTimeOut" IS NULL OR "SendingTimeOut" < %s) '
                        'AND NOT EXISTS (SELECT 1 FROM sentitems WHERE sentitems."ID" = %s)',
                        (outbox_id, self._db_now(), outbox_id), fetch=False,
                    )
                    if cursor.rowcount == 1:
                        self._execute('DELETE FROM outbox_multipart WHERE "ID" = %s', (outbox_id,), fetch=False)
                        returned += [f"{outbox_id}.{seq}" for seq in range(1, extra[0][0] + 2)]
            position = getattr(self, "_take_back_position", 0)
            window = list(
                MessagePart.objects.filter(gateway=self.name, status=MessagePart.Status.SENT, id__gt=position)
                .order_by("id").values_list("id", "gateway_message_id")[: limit * 4]
            )
            self._take_back_position = window[-1][0] if len(window) == limit * 4 else 0  # else: wrap around
            waiting = [gid for _pk, gid in window if gid.split(".")[0].isdigit()]
            outbox_ids = sorted({int(gid.split(".")[0]) for gid in waiting})
            present = set()
            for start in range(0, len(outbox_ids), CHUNK):
                chunk = outbox_ids[start : start + CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                for table in ("outbox", "sentitems"):
                    found, _ = self._execute(f'SELECT DISTINCT "ID" FROM {table} WHERE "ID" IN ({marks})',  # noqa: S608
                                             chunk)
                    present.update(row[0] for row in found)
            missing = [gid for gid in waiting if int(gid.split(".")[0]) not in present]
            return list(dict.fromkeys(returned + missing))

    # ------------------------------------------------------------ health

    def outbox_size(self) -> int:
        """Rows of ours (this modem's, when pinned) still in Gammu's outbox: the modem's backlog."""
        where = '"CreatorID" LIKE %s' + (' AND "SenderID" = %s' if self.phone_id else "")
        with self._guard():
            rows, _ = self._execute(f"SELECT COUNT(*) FROM outbox WHERE {where}",  # noqa: S608 (placeholders only)
                                    (f"{self.creator_id}:%", *([self.phone_id] if self.phone_id else [])))
        return rows[0][0]

    def phones(self) -> list[dict]:
        """The modems gammu-smsd reports in ``phones``, with a heartbeat age in seconds."""
        query = 'SELECT "ID", "TimeOut", "Signal", "Battery", "Sent", "Received", "NetName", "IMEI" FROM phones'
        if self.phone_id:
            query += ' WHERE "ID" = %s'

        with self._guard():
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
            phones = self.phones()  # a broken connection is closed there: the next call reconnects
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
