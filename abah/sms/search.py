"""Substring search over millions of messages: a trigram index on a copy of each message's text and number.

UCP > Pesan searches "text, number or institution" anywhere in a text. A plain ``LIKE '%…%'`` reads every
row (seconds at a million messages), so each message's searchable text lives in ``sms_message_doc``:

- PostgreSQL: a table (message_id, doc) with a ``pg_trgm`` GIN index on ``upper(doc)``;
- SQLite: an FTS5 table with the ``trigram`` tokenizer (rowid = message id).

Database triggers keep it in step with ``sms_message`` on every path that writes messages (the ORM, bulk
COPY / multi-row INSERTs, raw SQL). It is a separate table on purpose: the worker updates a message's status
several times, and those updates never touch the search index. ``ensure()`` runs after every ``migrate``
(post_migrate), because SQLite rebuilds a table to alter it and that drops its triggers.

New messages go to the index in two steps. The insert trigger writes their document to a plain table,
``sms_message_doc_tail`` (a heap insert: microseconds), and the SMS worker moves the tail into the trigram
index in the background (``flush``), when it has nothing to send. Adding a document to a trigram index
costs about a hundred of its entries (over 100 µs a message on PostgreSQL, tens on SQLite); paid inside
the transaction that queues a 10,000-recipient broadcast or a scheduler's backlog of 30,000 reminders, it
was most of their time. Every search reads both tables, so a message is found from the moment it is
committed: the tail is small (what the worker has not moved yet) and read whole.

Thread titles (institution names) are not in the documents: UCP > Pesan finds a thread's messages through the
small conversation table and the (conversation, id) index.
"""

# ruff: noqa: S608 - every statement here is assembled from this module's constants; user input is always bound
import functools
import logging
import time

from django.db import connection as default_connection

log = logging.getLogger(__name__)

TABLE = "sms_message_doc"
TAIL = "sms_message_doc_tail"  # documents not in the trigram index yet (see flush)
OLD_TABLES = ("sms_message_search",)  # earlier layouts, removed by install()
MIN_CHARS = 3  # a trigram index answers substrings of three characters or more

# What a message is found by: its text and its number. (Thread titles are searched in their own small table:
# repeated in every message's document, an institution's name made the trigram lists of its words enormous.)
_DOC_PG = "coalesce(m.text, '') || ' ' || m.number"

_PG = [
    "CREATE TABLE IF NOT EXISTS sms_message_doc (message_id bigint PRIMARY KEY, doc text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sms_message_doc_tail (message_id bigint PRIMARY KEY, doc text NOT NULL)",
    f"""CREATE OR REPLACE FUNCTION sms_message_doc_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO sms_message_doc_tail (message_id, doc)
            SELECT m.id, {_DOC_PG} FROM sms_new_rows m
        ON CONFLICT (message_id) DO UPDATE SET doc = EXCLUDED.doc;
        RETURN NULL;
    END $$""",
    # Wherever the document is. flush() holds a share lock on the messages it moves, so an update waits for
    # the move to commit and then finds the document in the index (each statement here sees it: VOLATILE).
    f"""CREATE OR REPLACE FUNCTION sms_message_doc_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE sms_message_doc d SET doc = {_DOC_PG} FROM sms_message m WHERE m.id = NEW.id AND d.message_id = NEW.id;
        UPDATE sms_message_doc_tail d SET doc = {_DOC_PG} FROM sms_message m
            WHERE m.id = NEW.id AND d.message_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION sms_message_doc_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM sms_message_doc d USING sms_old_rows o WHERE d.message_id = o.id;
        DELETE FROM sms_message_doc_tail d USING sms_old_rows o WHERE d.message_id = o.id;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION sms_message_doc_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE sms_message_doc, sms_message_doc_tail;
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS sms_message_doc_insert ON sms_message",
    """CREATE TRIGGER sms_message_doc_insert AFTER INSERT ON sms_message
        REFERENCING NEW TABLE AS sms_new_rows FOR EACH STATEMENT EXECUTE FUNCTION sms_message_doc_insert()""",
    "DROP TRIGGER IF EXISTS sms_message_doc_update ON sms_message",
    """CREATE TRIGGER sms_message_doc_update AFTER UPDATE OF text, number ON sms_message FOR EACH ROW
        WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.number IS DISTINCT FROM NEW.number)
        EXECUTE FUNCTION sms_message_doc_update()""",
    "DROP TRIGGER IF EXISTS sms_message_doc_delete ON sms_message",
    """CREATE TRIGGER sms_message_doc_delete AFTER DELETE ON sms_message
        REFERENCING OLD TABLE AS sms_old_rows FOR EACH STATEMENT EXECUTE FUNCTION sms_message_doc_delete()""",
    "DROP TRIGGER IF EXISTS sms_message_doc_truncate ON sms_message",
    """CREATE TRIGGER sms_message_doc_truncate AFTER TRUNCATE ON sms_message
        FOR EACH STATEMENT EXECUTE FUNCTION sms_message_doc_truncate()""",
]
_PG_INDEX = "CREATE INDEX IF NOT EXISTS sms_message_doc_trgm ON sms_message_doc USING gin (upper(doc) gin_trgm_ops)"
_PG_BACKFILL = (
    f"INSERT INTO sms_message_doc (message_id, doc) SELECT m.id, {_DOC_PG} FROM sms_message m "
    "WHERE NOT EXISTS (SELECT 1 FROM sms_message_doc d WHERE d.message_id = m.id) "
    "AND NOT EXISTS (SELECT 1 FROM sms_message_doc_tail t WHERE t.message_id = m.id)"
)
# Move the oldest `limit` documents of the tail into the index, in one statement. The tail rows are taken
# with SKIP LOCKED (several workers share the work); FOR SHARE on their messages makes a concurrent update of
# a message's text wait until the move is committed (see sms_message_doc_update).
_PG_FLUSH = """
    WITH picked AS (
        SELECT t.message_id FROM sms_message_doc_tail t JOIN sms_message m ON m.id = t.message_id
        ORDER BY t.message_id LIMIT %s
        FOR UPDATE OF t SKIP LOCKED FOR SHARE OF m SKIP LOCKED
    ), moved AS (
        DELETE FROM sms_message_doc_tail t USING picked p WHERE t.message_id = p.message_id
        RETURNING t.message_id, t.doc
    )
    INSERT INTO sms_message_doc (message_id, doc) SELECT message_id, doc FROM moved
    ON CONFLICT (message_id) DO UPDATE SET doc = EXCLUDED.doc"""

_DOC_SQLITE = "coalesce({m}.text, '') || ' ' || {m}.number"
_SQLITE_TRIGGERS = {
    "sms_message_doc_insert": f"""AFTER INSERT ON sms_message BEGIN
        INSERT OR REPLACE INTO sms_message_doc_tail (message_id, doc) VALUES (new.id, {_DOC_SQLITE.format(m="new")});
    END""",
    "sms_message_doc_update": f"""AFTER UPDATE OF text, number ON sms_message BEGIN
        UPDATE sms_message_doc SET doc = {_DOC_SQLITE.format(m="new")} WHERE rowid = old.id;
        UPDATE sms_message_doc_tail SET doc = {_DOC_SQLITE.format(m="new")} WHERE message_id = old.id;
    END""",
    "sms_message_doc_delete": """AFTER DELETE ON sms_message BEGIN
        DELETE FROM sms_message_doc WHERE rowid = old.id;
        DELETE FROM sms_message_doc_tail WHERE message_id = old.id;
    END""",
}
_SQLITE_BACKFILL = f"INSERT INTO sms_message_doc (rowid, doc) SELECT m.id, {_DOC_SQLITE.format(m='m')} FROM sms_message m"


def install(connection=None) -> None:
    """Create the search table, its index and the triggers (idempotent), and index messages not yet in it."""
    from django.db import transaction

    connection = connection or default_connection
    _drop_old(connection)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for statement in _PG:
                cursor.execute(statement)
            try:  # pg_trgm is a trusted extension (any database owner may create it) …
                with transaction.atomic(using=connection.alias):
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    cursor.execute(_PG_INDEX)
            except Exception as error:  # … but without it search still works, only slower
                log.warning("pg_trgm unavailable (%s): message search will scan the table", error)
            cursor.execute(_PG_BACKFILL)
        elif connection.vendor == "sqlite":
            if not sqlite_trigram_available():
                log.warning("this SQLite has no FTS5 trigram tokenizer: message search will scan the table")
                return
            cursor.execute("CREATE VIRTUAL TABLE IF NOT EXISTS sms_message_doc USING fts5(doc, tokenize = 'trigram')")
            cursor.execute("CREATE TABLE IF NOT EXISTS sms_message_doc_tail "
                           "(message_id integer PRIMARY KEY, doc text NOT NULL)")
            for name, body in _SQLITE_TRIGGERS.items():  # recreated: a table rebuild may have dropped them
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                cursor.execute(f"CREATE TRIGGER {name} {body}")
            cursor.execute("SELECT (SELECT count(*) FROM sms_message), (SELECT count(*) FROM sms_message_doc) "
                           "+ (SELECT count(*) FROM sms_message_doc_tail)")
            messages, indexed = cursor.fetchone()
            if messages != indexed:  # first install, or a table rebuild lost the triggers for a while
                cursor.execute("DELETE FROM sms_message_doc_tail")
                cursor.execute("DELETE FROM sms_message_doc")
                cursor.execute(_SQLITE_BACKFILL)


def _drop_old(connection) -> None:
    for table in OLD_TABLES:
        uninstall(connection, table=table)


def uninstall(connection=None, *, table: str = TABLE) -> None:
    connection = connection or default_connection
    connection._abah_search_tail = False
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name in ("insert", "update", "delete", "truncate"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_{name} ON sms_message")
                cursor.execute(f"DROP FUNCTION IF EXISTS {table}_{name}()")
            cursor.execute(f"DROP TABLE IF EXISTS {table}, {table}_tail")
        elif connection.vendor == "sqlite":
            for name in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_{name}")
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"DROP TABLE IF EXISTS {table}_tail")


def flush(limit: int = 2000, connection=None) -> int:
    """Move up to ``limit`` documents from the tail into the trigram index (oldest first); returns how many.

    The SMS worker calls it when it has nothing to send (sms.daemon); it is safe with several workers."""
    from django.db import transaction

    connection = connection or default_connection
    if not _installed(connection):
        return 0
    with connection.cursor() as cursor:  # the usual case, an empty tail, costs one indexed read
        cursor.execute("SELECT message_id FROM sms_message_doc_tail LIMIT 1")
        if cursor.fetchone() is None:
            return 0
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FLUSH, [int(limit)])
            return cursor.rowcount
        # SQLite: one writer at a time, so a plain read of the oldest ids is enough.
        cursor.execute("SELECT max(message_id), count(*) FROM (SELECT message_id FROM sms_message_doc_tail "
                       "ORDER BY message_id LIMIT %s)", [int(limit)])
        last, count = cursor.fetchone()
        if not count:
            return 0
        cursor.execute("INSERT OR REPLACE INTO sms_message_doc (rowid, doc) "
                       "SELECT message_id, doc FROM sms_message_doc_tail WHERE message_id <= %s", [last])
        cursor.execute("DELETE FROM sms_message_doc_tail WHERE message_id <= %s", [last])
        return count


def pending(connection=None) -> int:
    """How many documents wait in the tail (the SMS Center status page shows it)."""
    connection = connection or default_connection
    if not _installed(connection):
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sms_message_doc_tail")
        return cursor.fetchone()[0]


def _installed(connection) -> bool:
    """Whether the tail exists (remembered per connection once it does: the worker asks every round)."""
    if connection.vendor == "sqlite" and not sqlite_trigram_available():
        return False
    if getattr(connection, "_abah_search_tail", False):
        return True
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [TAIL])
        else:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [TAIL])
        found = bool(cursor.fetchone()[0])
    connection._abah_search_tail = found
    return found


def ensure(sender=None, using="default", **kwargs) -> None:
    """post_migrate: (re)install the search triggers once the sms tables exist."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    from django.db.migrations.recorder import MigrationRecorder

    if ("sms", "0003_message_search") not in MigrationRecorder(connection).applied_migrations():
        return  # not migrated that far yet (or migrated back): the migration installs it
    install(connection)


@functools.cache
def sqlite_trigram_available() -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (SQLite 3.34 or later, FTS5 compiled in)."""
    import sqlite3

    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(doc, tokenize = 'trigram')")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def usable(query: str, connection=None) -> bool:
    """Whether the index can answer the query: MIN_CHARS characters or more, and an index to ask."""
    connection = connection or default_connection
    if connection.vendor == "sqlite" and not sqlite_trigram_available():
        return False
    return len(query.strip()) >= MIN_CHARS


def _like(query: str) -> str:
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _sources(connection, *, by_index: bool) -> tuple[str, str]:
    """The SQL of the matching ids in the index and in the tail, each with a placeholder for the pattern
    followed by one for the bound (``{bound}`` is replaced by the caller's range condition).

    ``by_index`` False: the index is read by primary key, never through the trigram index (see in_range)."""
    if connection.vendor == "postgresql":
        doc = "upper(doc)" if by_index else "upper(doc || '')"
        return (f"SELECT message_id AS id FROM sms_message_doc WHERE {doc} LIKE upper(%s) {{bound}}",
                "SELECT message_id AS id FROM sms_message_doc_tail WHERE upper(doc) LIKE upper(%s) {bound}")
    if connection.vendor == "sqlite":
        # An FTS5 phrase: with the trigram tokenizer it matches the exact substring, case-insensitively. The
        # tail is read with LIKE, which SQLite also compares case-insensitively (for ASCII letters).
        return ("SELECT rowid AS id FROM sms_message_doc WHERE sms_message_doc MATCH %s {bound}",
                "SELECT message_id AS id FROM sms_message_doc_tail WHERE doc LIKE %s ESCAPE '\\' {bound}")
    raise NotImplementedError(connection.vendor)  # pragma: no cover - other engines are not supported


def _patterns(query: str, connection) -> tuple[str, str]:
    """The query as the index's pattern and as the tail's LIKE pattern."""
    query = query.strip()
    if connection.vendor == "sqlite":
        return '"' + query.replace('"', '""') + '"', _like(query)
    return _like(query), _like(query)


def candidates(query: str, *, below: int | None = None, limit: int = 2000, connection=None,
               seconds: float | None = None) -> list[int]:
    """Ids of messages whose text or number contains ``query`` (case-insensitive), newest first: at most
    ``limit`` of them, all below ``below``, found through the trigram index (and the tail not in it yet).
    ``seconds``: cancel the query after that long and raise Interrupted."""
    connection = connection or default_connection
    indexed, tail = _sources(connection, by_index=True)
    in_index, in_tail = _patterns(query, connection)
    column = "message_id" if connection.vendor == "postgresql" else "rowid"
    bound = f"AND {column} < %s" if below is not None else ""
    tail_bound = "AND message_id < %s" if below is not None else ""
    extra = [int(below)] if below is not None else []
    sql = (f"SELECT id FROM ({indexed.format(bound=bound)} UNION ALL {tail.format(bound=tail_bound)}) AS found "
           "ORDER BY id DESC LIMIT %s")
    params = [in_index, *extra, in_tail, *extra, int(limit)]
    if seconds is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    return _within(seconds, sql, params, connection)


def _within(seconds: float, sql: str, params: list, connection) -> list[int]:
    """Run a read, cancelled after ``seconds``: PostgreSQL's statement_timeout (local to a savepoint that the
    cancellation rolls back), SQLite's progress handler."""
    from django.db import OperationalError, transaction

    if connection.vendor == "postgresql":
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{max(1, int(seconds * 1000))}ms"])
                cursor.execute(sql, params)
                rows = cursor.fetchall()
                cursor.execute("RESET statement_timeout")
                return [row[0] for row in rows]
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", "") == "57014":  # query_canceled
                raise Interrupted from error
            raise
    connection.ensure_connection()
    deadline = time.monotonic() + seconds
    raw = connection.connection
    raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 2000)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    except OperationalError as error:
        if "interrupted" in str(error):
            raise Interrupted from error
        raise
    finally:
        raw.set_progress_handler(None, 0)


def in_range(query: str, low: int, high: int, connection=None) -> list[int]:
    """Ids in [low, high) whose text or number contains ``query``, newest first, read through the primary key:
    it costs the size of the range whatever the word, where the trigram index costs the number of matches."""
    connection = connection or default_connection
    # On PostgreSQL upper(doc || '') is not the indexed expression: the planner cannot pick the trigram index
    # here (its estimates for very common words are far too low, and reading 400,000 matches takes a second).
    indexed, tail = _sources(connection, by_index=False)
    in_index, in_tail = _patterns(query, connection)
    column = "message_id" if connection.vendor == "postgresql" else "rowid"
    sql = (f"SELECT id FROM ({indexed.format(bound=f'AND {column} >= %s AND {column} < %s')} UNION ALL "
           f"{tail.format(bound='AND message_id >= %s AND message_id < %s')}) AS found ORDER BY id DESC")
    with connection.cursor() as cursor:
        cursor.execute(sql, [in_index, low, high, in_tail, low, high])
        return [row[0] for row in cursor.fetchall()]


PROBE = 4_000  # ids read by primary key first: how common the word is among the newest messages (20,000 read
# 16,000 more ids than a common word needs, and as many for nothing for a rare one: +40 ms on PostgreSQL at 1,000,000)
RANGE_BUDGET = 200_000  # ids read by primary key at most per walk through a common word
CHUNK = 2000  # ids taken from the trigram index at a time
SECONDS = 0.08  # a walk's time: UCP > Pesan answers in time whatever the words (see walk)
CONTINUE_SECONDS = 0.4  # "Search older messages", asked for by the user, reads further
ACCEPT_STEP = 64  # matches checked at least at a time once most of what a page needs is kept (_accept_newest)
INDEX_SHARE = 0.6  # of it, what one query through the trigram index may take before it is cancelled


class Interrupted(Exception):
    """A query through the trigram index ran out of its time."""


def walk(query: str, *, top: int, need: int, accept=None, connection=None, seconds: float | None = None,
         by_key: bool = False, notes: dict | None = None) -> tuple[list[int], int]:
    """Matching ids below ``top``, newest first, until ``need`` of them pass ``accept`` (a function that keeps
    the ids other filters allow). Returns (ids, floor): every match at or above ``floor`` is in ids, and a
    floor above 0 means the walk stopped there (enough found, or its time spent): the next page resumes below.

    Reading by primary key costs the ids read; the trigram index costs the matches. So the walk probes the
    newest PROBE ids by key, which measures how common the word is, then goes on by key while the word is
    common enough to reach ``need`` soon (density d ≥ √(need / top)), else through the index.

    The index is fast for a rare word and for a common one (the newest matches come first), but not for words
    each common alone and rare together ("dana hibah tanggal"): every message holding all their trigrams is
    read to check the phrase. A query through the index is therefore cancelled after INDEX_SHARE of the walk's
    time (``seconds``, SECONDS by default); the walk then reads by key, newest first, for the rest of it, and
    the page offers to search older messages from where it stopped. ``by_key``: such a continuation, asked
    for by the user, reads by key from the start for CONTINUE_SECONDS, as far as that time reaches. ``notes``
    (a dict) gets "by_key": True when the walk read by key for that reason.
    """
    connection = connection or default_connection
    accept = accept or (lambda ids: ids)
    seconds = seconds if seconds is not None else (CONTINUE_SECONDS if by_key else SECONDS)
    deadline = time.monotonic() + seconds
    found: list[int] = []
    high = top
    low = max(0, high - PROBE)
    started = time.monotonic()
    # always: every page moves the floor down
    kept, stop = _accept_newest(in_range(query, low, high, connection), accept, need - len(found))
    found += kept
    read, high = high - low, low
    per_id = (time.monotonic() - started) / read if read else 0.0
    if stop is not None:
        return found, stop
    if len(found) >= need or high <= 0:
        return found, high
    density = len(found) / read
    if by_key:
        if notes is not None:
            notes["by_key"] = True
        return _by_key(query, high, need, found, 0.0, deadline, accept, connection, per_id, max_ids=top)
    if connection.vendor == "postgresql" and density and density * density * top >= need:
        return _by_key(query, high, need, found, density, deadline, accept, connection, per_id, RANGE_BUDGET)
    for _chunk in range(RANGE_BUDGET // CHUNK):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return found, high
        try:
            ids = candidates(query, below=high, limit=CHUNK, connection=connection, seconds=remaining * INDEX_SHARE)
        except Interrupted:
            log.info("search %r: the trigram index was too slow, reading by key", query)
            if notes is not None:
                notes["by_key"] = True
            return _by_key(query, high, need, found, density, deadline, accept, connection, per_id, RANGE_BUDGET)
        kept, stop = _accept_newest(ids, accept, need - len(found))
        found += kept
        if stop is not None:
            return found, stop
        if len(ids) < CHUNK:
            return found, 0
        high = ids[-1]
        if len(found) >= need:
            break
    return found, high


def _by_key(query, high, need, found, density, deadline, accept, connection, per_id, max_ids):
    """Read ranges of ids by primary key, newest first, until ``need`` are found, ``max_ids`` are read or the
    time is spent: each range as large as the time left allows (at the rate measured so far), and no larger
    than the density so far says ``need`` takes."""
    read = 0
    while len(found) < need and high > 0 and read < max_ids:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        size = int(left / per_id) if per_id > 0 else PROBE
        if density:
            size = min(size, max(PROBE, int((need - len(found)) / density * 1.2)))
        size = max(1, min(size, high, max_ids - read))
        started = time.monotonic()
        low = high - size
        kept, stop = _accept_newest(in_range(query, low, high, connection), accept, need - len(found))
        found += kept
        if stop is not None:
            return found, stop
        per_id = max(per_id, (time.monotonic() - started) / size)  # the slower rate: stay within the time
        read, high = read + size, low
    return found, high


def _accept_newest(ids: list[int], accept, wanted: int) -> tuple[list[int], int | None]:
    """Pass the matches ``ids`` (newest first) through ``accept`` only as far as it takes to keep ``wanted`` of
    them: (kept, stop), where ``stop`` is the lowest id looked at when the rest was left (every match at or above
    it was looked at: the walk's floor), or None when all were. A common word matches thousands of messages in
    the probe; checking each against the privacy rule and the filters (accept) cost more than finding them."""
    kept: list[int] = []
    start = 0
    while start < len(ids):
        step = max(ACCEPT_STEP, wanted - len(kept))
        part = ids[start : start + step]
        kept += accept(part)
        start += len(part)
        if len(kept) >= wanted and start < len(ids):
            return kept, part[-1]
    return kept, None
