"""A trigram index for "name contains …": pg_trgm's GIN index on PostgreSQL, an FTS5 trigram table on SQLite.

The SQLite table is an external-content FTS5 index over grants_institution.name_search, kept in step by
triggers, so every write path (ORM save, bulk_create, raw SQL) updates it.
"""

from django.db import migrations

FTS = "grants_institution_fts"

SQLITE_FORWARD = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(name_search, content='grants_institution', content_rowid='id', "
    "tokenize='trigram')",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON grants_institution BEGIN "
    f"INSERT INTO {FTS}(rowid, name_search) VALUES (new.id, new.name_search); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON grants_institution BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, name_search) VALUES ('delete', old.id, old.name_search); END",
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF name_search ON grants_institution BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, name_search) VALUES ('delete', old.id, old.name_search); "
    f"INSERT INTO {FTS}(rowid, name_search) VALUES (new.id, new.name_search); END",
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {FTS}_{t}" for t in ("ai", "ad", "au")] + [f"DROP TABLE IF EXISTS {FTS}"]

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS grants_inst_name_trgm ON grants_institution USING gin (name_search gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS grants_inst_name_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("grants", "0002_search_index")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
