"""The navbar search: kode proses, DPA number or institution name; split into Data Aktif / Data Arsip.

Fast at 100,000 grants: kode and DPA number are indexed equality lookups; the name is matched against the
indexed lowercase column ``Institution.name_search`` in a subquery (no UPPER()/LOWER() per row).
"""

import re
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from .models import Grant, Institution

KODE_RE = re.compile(r"^\d{4}-[A-Za-z]{2}-\d{5}$")
HAS_LETTER = re.compile(r"[^\W\d_]")
MAX_IDS = 5000
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
    matching = Institution.objects.filter(name_search__contains=q.lower()).values_list("pk", flat=True)
    # The name scan runs once; its ids are reused by the count and the page (a subquery beyond MAX_IDS).
    ids = list(matching[:MAX_IDS + 1])
    names = Q(institution_id__in=ids if len(ids) <= MAX_IDS else matching)
    exact_ids = list(Grant.objects.filter(exact).values_list("pk", flat=True)[:50])
    return names | Q(pk__in=exact_ids) if exact_ids else names


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
