"""The navbar search and the Data Hibah list: kode proses, DPA number or institution name, with filters; split
into Data Aktif / Data Arsip.

What a query finds:
- a kode proses or the start of one ("2026-HK", "2026-HK-0005": the number may be typed without its zeros);
- a DPA number or the start of one (six characters or more);
- institutions whose name holds every word of the query, in any order, with or without punctuation, case and
  diacritics ignored ("Al Ikhlas" finds "Al-Ikhlas", "Hidayatul Krajan" finds "Pondok Hidayatul Ulum Krajan").
  A word of three letters or more may be any part of a word of the name; a shorter one starts a word.

Best matches first: the exact kode (or DPA number), then kode/DPA prefixes, then names holding every word as a
whole word, then the other names; within each, by institution name.

Fast at 100,000 grants: kode and DPA number are indexed prefix lookups; names are matched on the normalised
column ``Institution.name_search`` (``search_key``: lowercase, no diacritics, punctuation as spaces — kept on
save, and rewritten for existing rows by migration 0004) through a trigram index (migration 0003: pg_trgm's GIN
index on PostgreSQL, an FTS5 trigram table on SQLite) in a subquery, so the database never scans every
institution and Python never carries a list of ids.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from .models import Grant, Institution

KODE_RE = re.compile(r"^\d{4}-[A-Za-z]{2}-\d{5}$")
HAS_LETTER = re.compile(r"[^\W\d_]")
KODE_PREFIX_RE = re.compile(r"^(\d{4})-([A-Z]{1,2})(?:-(\d{0,5}))?$")
DPA_PREFIX_RE = re.compile(r"^[0-9A-Za-z./-]*[0-9][0-9A-Za-z./-]*$")
DPA_PREFIX_MIN = 6
MAX_WORDS = 8
SHORT_WORD = 3  # a word shorter than this starts a word of the name (the trigram index needs three characters)
FTS_QUERY = "SELECT rowid FROM grants_institution_fts WHERE grants_institution_fts MATCH %s"
ARSIP = Grant.Status.ARSIP
_NOT_WORD = re.compile(r"[\W_]+")
TOP = "\U0010ffff"  # above every character: [prefix, prefix + TOP) is "starts with prefix" in binary order

# Ranks, best first.
EXACT, PREFIX, WHOLE_WORDS, WORDS = 0, 1, 2, 3


def normalise(q: str) -> str:
    return " ".join((q or "").split())[:200]


def search_key(text: str) -> str:
    """The form of a name that search compares: lowercase, diacritics removed, every run of punctuation or
    spaces one space. "Masjid Jami' Al-Ikhlas" → "masjid jami al ikhlas"; "Pondok Ṣalāḥ" → "pondok salah"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def words_of(q: str) -> list[str]:
    """The distinct words of a query (at most eight), in search_key form."""
    return list(dict.fromkeys(search_key(q).split()))[:MAX_WORDS]


def exact_kode(q: str) -> Grant | None:
    """The grant whose kode proses is exactly q (case-insensitive), or None."""
    if not KODE_RE.match(q):
        return None
    return Grant.objects.filter(kode=q.upper()).only("pk").first()


@dataclass
class Query:
    """What a search text asks for: exact kode/DPA values, kode/DPA prefixes and name words."""

    text: str
    exact_kodes: list = field(default_factory=list)
    kode_prefix: str = ""
    dpa: str = ""
    words: list = field(default_factory=list)

    @classmethod
    def parse(cls, q: str) -> "Query":
        q = normalise(q)
        query = cls(text=q)
        token = q.upper()
        match = KODE_PREFIX_RE.match(token)
        if match:
            year, jenis, number = match.groups()
            query.kode_prefix = token
            if len(jenis) == 2 and number:
                query.exact_kodes = list(dict.fromkeys([token, f"{year}-{jenis}-{int(number):05d}"]))
        elif KODE_RE.match(token):
            query.exact_kodes = [token]
        if not query.kode_prefix and " " not in q and DPA_PREFIX_RE.match(q) and len(q) >= DPA_PREFIX_MIN:
            query.dpa = q
        if HAS_LETTER.search(q) and not (query.kode_prefix or query.exact_kodes):
            query.words = words_of(q)  # a kode or a number is never a name
        return query


def _starts_with(column: str, prefix: str) -> Q:
    """column starts with prefix, answered by the column's index: a binary range on SQLite (whose LIKE ignores
    case and so skips a binary index), LIKE 'prefix%' on PostgreSQL (a varchar_pattern_ops index, migration 0004,
    serves it whatever the database's collation)."""
    if connection.vendor == "sqlite":
        return Q(**{f"{column}__gte": prefix, f"{column}__lt": prefix + TOP})
    return Q(**{f"{column}__startswith": prefix})


def _padded(prefix: str = ""):
    """' ' + name_search + ' ': whole words are ' word ', word starts ' wo'."""
    return Concat(Value(" "), f"{prefix}name_search", Value(" "))


def _named_pg(words, prefix: str = "") -> Q:
    """PostgreSQL: every word in name_search, as LIKE '%word%' (three characters or more) or a regular expression
    for a word start (shorter words); pg_trgm's GIN index answers both."""
    named = Q()
    for w in words:
        if len(w) >= SHORT_WORD:
            named &= Q(**{f"{prefix}name_search__contains": w})
        else:
            named &= Q(**{f"{prefix}name_search__regex": f"(^| ){w}"})
    return named


def institutions_named(q):
    """The ids of institutions whose name holds every word of q (see the module), as a subquery for ``__in``.

    SQLite: the FTS5 trigram table answers the long words at once ("w1" AND "w2": every one a substring), and
    short words (one or two characters) filter those candidates as the start of a word. PostgreSQL: see
    ``_named_pg``.
    """
    words = q if isinstance(q, list) else words_of(q)
    if not words:
        return Institution.objects.none().values("pk")
    if connection.vendor != "sqlite":
        return Institution.objects.filter(_named_pg(words)).values("pk")
    long_words = [w for w in words if len(w) >= SHORT_WORD]
    short_words = [w for w in words if len(w) < SHORT_WORD]
    institutions = Institution.objects.all()
    if long_words:
        match = " AND ".join('"' + w.replace('"', '""') + '"' for w in long_words)
        # constant SQL; the words are a bound parameter
        institutions = institutions.filter(pk__in=RawSQL(FTS_QUERY, [match]))  # noqa: S611
    if short_words:
        institutions = institutions.alias(padded=_padded())
        for w in short_words:
            institutions = institutions.filter(padded__contains=f" {w}")
    return institutions.values("pk")


def condition(query: Query) -> Q:
    """Grants with a matching kode, DPA number or institution name. Each part is an indexed lookup; they are ORed
    (the databases answer an OR of indexed terms by a union of index scans)."""
    parts = []
    if query.exact_kodes:
        parts.append(Q(kode__in=query.exact_kodes))
    if query.kode_prefix:
        parts.append(_starts_with("kode", query.kode_prefix))
    if query.dpa:
        parts.append(_starts_with("dpa_number", query.dpa))
    if query.words:
        if connection.vendor == "sqlite":
            parts.append(Q(institution_id__in=institutions_named(query.words)))
        else:
            # PostgreSQL: on the joined institution (which the name order reads anyway), answered by the
            # pg_trgm index, rather than a second pass over institutions in a subquery
            parts.append(_named_pg(query.words, "institution__"))
    if not parts:
        return Q(pk__in=[])
    result = parts[0]
    for part in parts[1:]:
        result |= part
    return result


def ranked(queryset, query: Query):
    """The queryset ordered best match first (see the module), then by institution name."""
    whens = []
    exact = Q()
    if query.exact_kodes:
        exact |= Q(kode__in=query.exact_kodes)
    if query.dpa:
        exact |= Q(dpa_number=query.dpa)
    if exact:
        whens.append(When(exact, then=Value(EXACT)))
    prefix = Q()
    if query.kode_prefix:
        prefix |= _starts_with("kode", query.kode_prefix)
    if query.dpa:
        prefix |= _starts_with("dpa_number", query.dpa)
    if prefix:
        whens.append(When(prefix, then=Value(PREFIX)))
    if query.words:
        queryset = queryset.alias(inst_padded=_padded("institution__"))
        whole = Q()
        for w in query.words:
            whole &= Q(inst_padded__contains=f" {w} ")
        whens.append(When(whole, then=Value(WHOLE_WORDS)))
    if not (exact or prefix):
        # The rank then depends on the institution alone, and PostgreSQL would sort every institution by it
        # before the join (to stop after one page); a term on the grant keeps the sort to the matching rows.
        whens.append(When(kode="", then=Value(WORDS)))
    rank = Case(*whens, default=Value(WORDS), output_field=IntegerField())
    return queryset.alias(rank=rank).order_by("rank", "institution__name_search", "kode")


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


def search(q: str, scope: str = "aktif", filters: Q | None = None) -> Result:
    """Grants matching q (everything when q is empty) and the filters, in one scope, with both scopes' counts."""
    query = Query.parse(q)
    scope = "arsip" if scope == "arsip" else "aktif"
    base = Grant.objects.all()
    if query.text:
        base = base.filter(condition(query))
    if filters is not None:
        base = base.filter(filters)
    counts = base.aggregate(total=Count("pk"), arsip=Count("pk", filter=Q(status=ARSIP)))
    scoped = base.filter(status=ARSIP) if scope == "arsip" else base.exclude(status=ARSIP)
    queryset = ranked(scoped, query) if query.text else scoped.order_by("-created_at", "-id")
    return Result(q=query.text, scope=scope, aktif=counts["total"] - counts["arsip"], arsip=counts["arsip"],
                  queryset=queryset)
