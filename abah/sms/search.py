"""Substring search over millions of messages: a trigram index on a copy of each message's text and number.

UCP > Pesan searches "text, number or institution" anywhere in a text. A plain ``LIKE '%…%'`` reads every
row (seconds at a million messages), so each message's searchable text lives in ``sms_message_search``:

- PostgreSQL: a table (message_id, doc) with a ``pg_trgm`` GIN index on ``upper(doc)``;
- SQLite: an FTS5 table with the ``trigram`` tokenizer (rowid = message id).

Database triggers keep it in step with ``sms_message`` on every path that writes messages (the ORM, bulk
COPY / multi-row INSERTs, raw SQL). It is a separate table on purpose: the worker updates a message's status
several times, and those updates never touch the search index. ``ensure()`` runs after every ``migrate``
(post_migrate), because SQLite rebuilds a table to alter it and that drops its triggers.
"""

import logging

from django.db import connection as default_connection

log = logging.getLogger(__name__)

TABLE = "sms_message_search"
MIN_CHARS = 3  # a trigram index answers substrings of three characters or more

_PG = [
    "CREATE TABLE IF NOT EXISTS sms_message_search (message_id bigint PRIMARY KEY, doc text NOT NULL)",
    """CREATE OR REPLACE FUNCTION sms_message_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO sms_message_search (message_id, doc)
            SELECT id, coalesce(text, '') || ' ' || coalesce(number, '') FROM sms_new_rows
        ON CONFLICT (message_id) DO UPDATE SET doc = EXCLUDED.doc;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION sms_message_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE sms_message_search SET doc = coalesce(NEW.text, '') || ' ' || coalesce(NEW.number, '')
            WHERE message_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION sms_message_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM sms_message_search s USING sms_old_rows o WHERE s.message_id = o.id;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION sms_message_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE sms_message_search;
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS sms_message_search_insert ON sms_message",
    """CREATE TRIGGER sms_message_search_insert AFTER INSERT ON sms_message
        REFERENCING NEW TABLE AS sms_new_rows FOR EACH STATEMENT EXECUTE FUNCTION sms_message_search_insert()""",
    "DROP TRIGGER IF EXISTS sms_message_search_update ON sms_message",
    """CREATE TRIGGER sms_message_search_update AFTER UPDATE OF text, number ON sms_message FOR EACH ROW
        WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.number IS DISTINCT FROM NEW.number)
        EXECUTE FUNCTION sms_message_search_update()""",
    "DROP TRIGGER IF EXISTS sms_message_search_delete ON sms_message",
    """CREATE TRIGGER sms_message_search_delete AFTER DELETE ON sms_message
        REFERENCING OLD TABLE AS sms_old_rows FOR EACH STATEMENT EXECUTE FUNCTION sms_message_search_delete()""",
    "DROP TRIGGER IF EXISTS sms_message_search_truncate ON sms_message",
    """CREATE TRIGGER sms_message_search_truncate AFTER TRUNCATE ON sms_message
        FOR EACH STATEMENT EXECUTE FUNCTION sms_message_search_truncate()""",
]
_PG_INDEX = "CREATE INDEX IF NOT EXISTS sms_message_search_trgm ON sms_message_search USING gin (upper(doc) gin_trgm_ops)"

_SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS sms_message_search USING fts5(doc, tokenize = 'trigram')",
    """CREATE TRIGGER IF NOT EXISTS sms_message_search_insert AFTER INSERT ON sms_message BEGIN
        INSERT OR REPLACE INTO sms_message_search (rowid, doc) VALUES (new.id, coalesce(new.text, '') || ' ' || new.number);
    END""",
    """CREATE TRIGGER IF NOT EXISTS sms_message_search_update AFTER UPDATE OF text, number ON sms_message BEGIN
        UPDATE sms_message_search SET doc = coalesce(new.text, '') || ' ' || new.number WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS sms_message_search_delete AFTER DELETE ON sms_message BEGIN
        DELETE FROM sms_message_search WHERE rowid = old.id;
    END""",
]


def install(connection=None) -> None:
    """Create the search table, its index and the triggers (idempotent), and index messages not yet in it."""
    from django.db import transaction

    connection = connection or default_connection
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
            cursor.execute(
                "INSERT INTO sms_message_search (message_id, doc) SELECT id, coalesce(text, '') || ' ' || number "
                "FROM sms_message m WHERE NOT EXISTS (SELECT 1 FROM sms_message_search s WHERE s.message_id = m.id)"
            )
        elif connection.vendor == "sqlite":
            for statement in _SQLITE:
                cursor.execute(statement)
            cursor.execute("SELECT (SELECT count(*) FROM sms_message), (SELECT count(*) FROM sms_message_search)")
            messages, indexed = cursor.fetchone()
            if messages != indexed:  # first install, or a table rebuild lost the triggers for a while
                cursor.execute("DELETE FROM sms_message_search")
                cursor.execute(
                    "INSERT INTO sms_message_search (rowid, doc) SELECT id, coalesce(text, '') || ' ' || number FROM sms_message"
                )


def uninstall(connection=None) -> None:
    connection = connection or default_connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            for name in ("insert", "update", "delete", "truncate"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name} ON sms_message")
                cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_{name}()")
        elif connection.vendor == "sqlite":
            for name in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name}")
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def ensure(sender=None, using="default", **kwargs) -> None:
    """post_migrate: (re)install the search triggers once the sms tables exist."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    if "sms_message" not in connection.introspection.table_names():
        return
    install(connection)


def usable(query: str) -> bool:
    """Whether the index can answer the query (MIN_CHARS characters or more)."""
    return len(query.strip()) >= MIN_CHARS


def candidates(query: str, *, below: int | None = None, limit: int = 2000, connection=None) -> list[int]:
    """Ids of messages whose text or number contains ``query`` (case-insensitive), newest first: at most
    ``limit`` of them, all below ``below``. Both indexes answer this from the index alone, cheaply for a word
    in every other message (the newest matches come first) and for a rare one."""
    connection = connection or default_connection
    query = query.strip()
    if connection.vendor == "postgresql":
        sql = "SELECT message_id FROM sms_message_search WHERE upper(doc) LIKE upper(%s)"
        params = ["%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]
        column = "message_id"
    elif connection.vendor == "sqlite":
        # An FTS5 phrase: with the trigram tokenizer it matches the exact substring, case-insensitively.
        sql = "SELECT rowid FROM sms_message_search WHERE sms_message_search MATCH %s"
        params = ['"' + query.replace('"', '""') + '"']
        column = "rowid"
    else:  # pragma: no cover - other engines are not supported
        raise NotImplementedError(connection.vendor)
    if below is not None:
        sql += f" AND {column} < %s"
        params.append(int(below))
    sql += f" ORDER BY {column} DESC LIMIT %s"
    params.append(int(limit))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
