"""The navbar search: kode proses, DPA number or institution name; split into Data Aktif / Data Arsip.

Fast at 100,000 grants: kode and DPA number are indexed equality lookups; a name is a substring of the
lowercase column ``Institution.name_search``, found through a trigram index (migration 0003: pg_trgm's GIN
index on PostgreSQL, an FTS5 trigram table on SQLite) in a subquery, so the database never scans every
institution and Python never carries a list of ids.
"""

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import Grant, Institution

KODE_RE = re.compile(r"^\d{4}-[A-Za-z]{2}-\d{5}$")
HAS_LETTER = re.compile(r"[^\W\d_]")
FTS_QUERY = "SELECT rowid FROM grants_institution_fts WHERE grants_institution_fts MATCH %s"
ARSIP = Grant.Status.ARSIP


def normalise(q: str) -> str:
    return " ".join((q or "").split())[:200]


def exact_kode(q: str) -> Grant | None:
    """The grant whose kode proses is exactly q (case-insensitive), or None."""
    if not KODE_RE.match(q):
        return None
    return Grant.objects.filter(kode=q.upper()).only("pk").first()


def condition(q: str) -> Q:
    """Grants whose DPA number or kode is q, or whose institution's name contains q.

    The exact matches are resolved first (indexed), so the name part is never ORed with other columns: an OR
    across columns would make the database scan every grant. A query without letters is never a name.
    """
    if not q:
        return Q()
    exact = Q(dpa_number=q)
    if KODE_RE.match(q):
        exact |= Q(kode=q.upper())
    if not HAS_LETTER.search(q):
        return exact
    names = Q(institution_id__in=institutions_named(q))
    exact_ids = list(Grant.objects.filter(exact).values_list("pk", flat=True)[:50])
    return names | Q(pk__in=exact_ids) if exact_ids else names


def institutions_named(q: str):
    """The ids of institutions whose name contains q (case-insensitive), as a subquery for ``__in``.

    SQLite: the FTS5 trigram table answers a phrase query, which for the trigram tokenizer is exactly
    "contains this substring" (three characters or more; shorter queries scan, which is cheap for them).
    PostgreSQL: LIKE '%…%' on name_search is answered by the pg_trgm GIN index.
    """
    needle = q.lower()
    if connection.vendor == "sqlite" and len(needle) >= 3:
        phrase = '"' + needle.replace('"', '""') + '"'
        return RawSQL(FTS_QUERY, [phrase])  # noqa: S611 - constant SQL, the query is a bound parameter
    return Institution.objects.filter(name_search__contains=needle).values("pk")


@dataclass
class Result:
    q: str
    scope: str
    aktif: int
    arsip: int
    queryset: QuerySet

    @property
    def total(self) -> int:
        return self.arsip if self.scope == "arsip" else self.aktif


def page_rows(queryset, ids):
    """The full rows of one page: the page itself is cut from an id-only (index-covered) query."""
    rows = {g.pk: g for g in queryset.model.objects.filter(pk__in=ids).select_related("institution", "petugas")}
    return [rows[pk] for pk in ids if pk in rows]


def search(q: str, scope: str = "aktif") -> Result:
    q = normalise(q)
    scope = "arsip" if scope == "arsip" else "aktif"
    base = Grant.objects.filter(condition(q))
    counts = base.aggregate(total=Count("pk"), arsip=Count("pk", filter=Q(status=ARSIP)))
    scoped = base.filter(status=ARSIP) if scope == "arsip" else base.exclude(status=ARSIP)
    queryset = scoped.order_by("-created_at", "-id")
    return Result(q=q, scope=scope, aktif=counts["total"] - counts["arsip"], arsip=counts["arsip"],
                  queryset=queryset)
