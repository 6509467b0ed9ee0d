"""Bulk inserts for the worker's hot path: multi-row INSERTs, without building model instances.

The ORM's bulk_create spends most of its time constructing and preparing model objects; the daemon inserts
thousands of rows of fixed shape per second, so it hands ready values to the driver in one statement.
"""

from datetime import datetime

from django.db import connection


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
