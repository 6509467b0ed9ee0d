"""Bulk writes for the worker's hot path: multi-row INSERTs and id-list UPDATEs, without the ORM's query building.

The ORM's bulk_create spends most of its time constructing and preparing model objects, and a QuerySet.update()
builds and compiles its query anew each time (about a millisecond of CPU); the daemon writes thousands of rows of
fixed shape per second, in transactions of one SMPP window each, so it hands ready values to the driver.
"""

from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Lookup

# Values per query for the ``any`` lookup: PostgreSQL takes one array parameter, SQLite a list of placeholders.
ANY_CHUNK = {"postgresql": 10_000}
DEFAULT_ANY_CHUNK = 900


class AnyOf(Lookup):
    """``field__any=[…]`` (registered on every field by the sms app): ``field = ANY(%s)`` with the list as one
    array parameter on PostgreSQL, a plain IN elsewhere. Bulk paths look up thousands of keys at once; an IN list
    of thousands of placeholders costs PostgreSQL more to receive and plan than to answer. Values are given as
    the database stores them (str, int)."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)


def any_chunk() -> int:
    """How many values one ``any`` lookup should carry on this database."""
    return ANY_CHUNK.get(connection.vendor, DEFAULT_ANY_CHUNK)


def sequence_ids(model, count: int) -> list[int]:
    """``count`` new primary keys from the table's sequence on PostgreSQL, ascending, so rows can go in by COPY
    with their ids known (COPY returns nothing); [] on other databases (insert_rows(..., returning=…) there)."""
    if connection.vendor != "postgresql" or not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return sorted(row[0] for row in cursor.fetchall())


def db_datetime(value: datetime):
    """A datetime the way the current backend stores it (e.g. naive UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)


def insert_rows(model, fields: list[str], rows: list[tuple], *, returning: list[str] | None = None) -> list[tuple]:
    """Insert ``rows`` (values in the order of ``fields``). With ``returning`` (not on PostgreSQL, where the rows
    go in by COPY) the inserted rows' values of those fields come back, as tuples in no particular order."""
    if not rows:
        return []
    meta = model._meta
    columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in fields)
    if connection.vendor == "postgresql":
        if returning:
            raise ValueError("insert_rows: COPY returns nothing; draw the ids from the sequence first")
        # COPY is PostgreSQL's bulk path: several times faster than a multi-row INSERT of the same rows.
        table = connection.ops.quote_name(meta.db_table)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return []
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Identifiers come from the model's own metadata through quote_name; every value is a bound parameter.
    head = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES "  # noqa: S608
    tail = ""
    if returning:
        tail = " RETURNING " + ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in returning)
    # One multi-row statement per chunk: a single round trip, under SQLite's 32,766-variable limit.
    per_statement = max(1, 30_000 // len(fields))
    returned = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, [value for row in chunk for value in row])
            if returning:
                returned += cursor.fetchall()
    return returned


def update_ids(model, ids: list, values: dict, **where) -> int:
    """``UPDATE table SET values WHERE where AND id IN ids``, values given by field name and prepared as the ORM
    would (datetimes, None); ``where`` is equality by field name, or one of several values given as a tuple or list.
    Returns the number of rows changed."""
    if not ids:
        return 0
    meta = model._meta
    quote = connection.ops.quote_name

    def prepared(name, value):
        field = meta.get_field(name)
        return quote(field.column), field.get_db_prep_save(value, connection)

    sets = [prepared(name, value) for name, value in values.items()]
    conditions, params = [], [value for _c, value in sets]
    for name, value in where.items():  # a tuple or list: one of these values (IN)
        several = value if isinstance(value, (tuple, list)) else [value]
        column = prepared(name, several[0])[0]
        conditions.append(f"{column} = %s" if len(several) == 1 else f"{column} IN ({', '.join(['%s'] * len(several))})")
        params += [prepared(name, item)[1] for item in several]
    # Identifiers come from the model's own metadata through quote_name; every value is a bound parameter.
    head = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{column} = %s' for column, _v in sets)} "  # noqa: S608
            f"WHERE {' AND '.join([*conditions, ''])}{quote(meta.pk.column)}")
    changed = 0
    step = any_chunk()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), step):
            cursor.execute(*in_list(head, list(ids[start : start + step]), params))
            changed += cursor.rowcount
    return changed


def in_list(head: str, values: list, params: list, tail: str = "") -> tuple[str, list]:
    """(sql, params) for ``<head> IN (values) <tail>``, as the ``any`` lookup writes it: ``= ANY(%s)`` with one array
    parameter on PostgreSQL, a list of placeholders elsewhere."""
    if connection.vendor == "postgresql":
        return f"{head} = ANY(%s) {tail}".rstrip(), [*params, values]
    return f"{head} IN ({', '.join(['%s'] * len(values))}) {tail}".rstrip(), [*params, *values]
