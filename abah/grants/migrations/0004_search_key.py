"""Search that finds: ``Institution.name_search`` becomes the normalised search key (lowercase, no diacritics,
punctuation as spaces: ``abah.grants.search.search_key``) for every existing row, and on PostgreSQL the kode
and DPA number get ``varchar_pattern_ops`` indexes so that "starts with" is an index lookup whatever the
database's collation. On SQLite the FTS5 trigram table follows name_search through its triggers (0003)."""

import re
import unicodedata

from django.db import migrations

BATCH = 2000

POSTGRES_FORWARD = [
    "CREATE INDEX IF NOT EXISTS grants_grant_kode_prefix ON grants_grant (kode varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS grants_grant_dpa_prefix ON grants_grant (dpa_number varchar_pattern_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS grants_grant_kode_prefix", "DROP INDEX IF EXISTS grants_grant_dpa_prefix"]


def _rekey(key):
    def run(apps, schema_editor):
        Institution = apps.get_model("grants", "Institution")
        rows = Institution.objects.using(schema_editor.connection.alias).order_by("pk")
        last = 0
        while True:
            batch = list(rows.filter(pk__gt=last).only("pk", "name", "name_search")[:BATCH])
            if not batch:
                return
            changed = []
            for institution in batch:
                value = key(institution.name)
                if institution.name_search != value:
                    institution.name_search = value
                    changed.append(institution)
            Institution.objects.using(schema_editor.connection.alias).bulk_update(changed, ["name_search"])
            last = batch[-1].pk

    return run


def _search_key(name):
    """A frozen copy of abah.grants.search.search_key as of this migration."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


def _lower(name):
    return (name or "").lower()


def _sql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("grants", "0003_name_trigram_index")]

    operations = [
        migrations.RunPython(_rekey(_search_key), _rekey(_lower)),
        migrations.RunPython(_sql(POSTGRES_FORWARD), _sql(POSTGRES_BACKWARD)),
    ]
