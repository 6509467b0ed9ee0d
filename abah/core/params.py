"""Numbers, ids and dates read from a query (``request.GET`` / ``request.POST``): the one parser every view uses.

``str.isdigit()`` is true for "²" or "١٢", which ``int()`` then refuses (or reads as an Arabic-Indic number), and
an id of 10^25 overflows the database's bigint: both used to answer HTTP 500. Here a value is read as ASCII
digits only, within bounds (a positive id below 2**63, a date between 2000-01-01 and 2100-12-31); a value that
is not one is ``None`` (the parameter is ignored), or raises ``BadParameter`` (a 400) when ``strict=True`` —
for a view where ignoring it would do something else than asked.
"""

import datetime
import re

from django.core.exceptions import BadRequest

from .text import clean_text

MAX_ID = 2**63 - 1  # PostgreSQL's bigint, SQLite's integer
MIN_DATE = datetime.date(2000, 1, 1)
MAX_DATE = datetime.date(2100, 12, 31)
MAX_IDS = 1000  # an id list longer than this is cut (a bulk action never shows more on one page)

_INT = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DAY_FIRST = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})", re.ASCII)  # 30/11/2018, as typed


class BadParameter(BadRequest):
    """A parameter that is not what the view needs: HTTP 400 (Django answers BadRequest with its 400 page)."""


def _raw(params, name: str) -> str:
    value = params.get(name, "")
    return clean_text(value).strip() if isinstance(value, str) else ""


def parse_int(value, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """``value`` (text) as an integer of ASCII digits within [minimum, maximum], else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = clean_text(value).strip()
        if not _INT.fullmatch(text):
            return None
        number = int(text)
    return number if minimum <= number <= maximum else None


def parse_date(value, *, minimum: datetime.date = MIN_DATE, maximum: datetime.date = MAX_DATE):
    """``value`` ("YYYY-MM-DD", or day first as typed in a date field: "30/11/2018") as a date within
    [minimum, maximum], else None (no such day: None too)."""
    text = clean_text(value).strip()
    match = _DATE.fullmatch(text)
    typed = None if match else _DAY_FIRST.fullmatch(text)
    if not match and not typed:
        return None
    try:
        if match:
            day = datetime.date(*(int(part) for part in match.groups()))
        else:
            day = datetime.date(int(typed[4]), int(typed[3]), int(typed[1]))
    except ValueError:
        return None
    return day if minimum <= day <= maximum else None


MAX_TEXT = 200  # a search box: longer text finds nothing more, and SQLite refuses LIKE patterns over 50,000 bytes


def text_param(params, name: str, *, max_length: int = MAX_TEXT) -> str:
    """A text parameter (a search box, a filter): cleaned (``abah.core.text.clean_text``), stripped, and cut to
    ``max_length`` characters."""
    return _raw(params, name)[:max_length].strip()


def _fail(name: str, strict: bool, present: bool):
    if strict and present:
        raise BadParameter(f"Invalid parameter {name!r}.")
    return None


def int_param(params, name: str, *, minimum: int = 1, maximum: int = MAX_ID, strict: bool = False) -> int | None:
    """The integer parameter ``name``: None when absent or not an integer in bounds (BadParameter if strict)."""
    raw = _raw(params, name)
    number = parse_int(raw, minimum=minimum, maximum=maximum) if raw else None
    return number if number is not None else _fail(name, strict, bool(raw))


def id_param(params, name: str, *, strict: bool = False) -> int | None:
    """A primary key: a positive integer below 2**63."""
    return int_param(params, name, strict=strict)


def date_param(params, name: str, *, minimum: datetime.date = MIN_DATE, maximum: datetime.date = MAX_DATE,
               strict: bool = False) -> datetime.date | None:
    """The date parameter ``name`` ("YYYY-MM-DD" or "30/11/2018", 2000-01-01 … 2100-12-31), else None (BadParameter
    if strict)."""
    raw = _raw(params, name)
    day = parse_date(raw, minimum=minimum, maximum=maximum) if raw else None
    return day if day is not None else _fail(name, strict, bool(raw))


def ids_param(params, name: str, *, limit: int = MAX_IDS, strict: bool = False) -> list[int]:
    """Every id given as ``name`` (repeated, or comma-separated), in order, without repeats; values that are not
    ids are dropped (strict: BadParameter). At most ``limit`` ids."""
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name, "")]
    found: dict[int, None] = {}
    for value in values:
        if not isinstance(value, str):
            value = str(value)
        for part in value.split(","):
            part = clean_text(part).strip()
            if not part:
                continue
            pk = parse_int(part)
            if pk is None:
                _fail(name, strict, True)
                continue
            found.setdefault(pk, None)
            if len(found) >= limit:
                return list(found)
    return list(found)
