"""Indonesian formatting of money, dates and times, independent of the active locale; relative times ("3 jam yang
lalu") and stage numbers ("Tahap II") in the active language, one helper each for every page."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

WIB = ZoneInfo("Asia/Jakarta")

MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)
DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def _group(digits: str, sep: str = ".") -> str:
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return sep.join(out)


def rupiah(amount, *, legacy: bool = False) -> str:
    """Rp400.000.000,00 (or the legacy "Rp. 400.000.000,00"); plain ASCII so an SMS stays GSM-7."""
    if amount is None or amount == "":
        return "-"
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    prefix = "Rp. " if legacy else "Rp"
    return f"{sign}{prefix}{_group(whole)},{cents}"


def to_wib(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=WIB)
    return value.astimezone(WIB)


def tanggal(value: date | datetime | None) -> str:
    """30 November 2018."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = to_wib(value)
    return f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}"


def hari_tanggal(value: date) -> str:
    """Jumat, 30 November 2018."""
    return f"{DAYS_ID[value.weekday()]}, {tanggal(value)}"


def waktu(value: datetime) -> str:
    """30 November 2018 12:53:19 WIB."""
    value = to_wib(value)
    return f"{tanggal(value)} {value:%H:%M:%S} WIB"


def jam(value) -> str:
    """pukul 09.00 WIB (value: a time or a datetime)."""
    if isinstance(value, datetime):
        value = to_wib(value)
    return f"pukul {value:%H.%M} WIB"


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """"3 jam yang lalu" / "3 hours ago": the one relative time of every page (SMS, notifications, status)."""
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < -60:
        minutes = round(-seconds / 60)
        if minutes < 60:
            return ngettext("in %(n)d minute", "in %(n)d minutes", minutes) % {"n": minutes}
        hours = round(-seconds / 3600)
        if hours < 48:
            return ngettext("in %(n)d hour", "in %(n)d hours", hours) % {"n": hours}
        days = round(-seconds / 86400)
        return ngettext("in %(n)d day", "in %(n)d days", days) % {"n": days}
    if seconds < 45:
        return _("just now")
    minutes = round(seconds / 60)
    if minutes < 60:
        return ngettext("%(n)d minute ago", "%(n)d minutes ago", minutes) % {"n": minutes}
    hours = round(seconds / 3600)
    if hours < 24:
        return ngettext("%(n)d hour ago", "%(n)d hours ago", hours) % {"n": hours}
    days = round(seconds / 86400)
    if days < 30:
        return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}
    months = round(days / 30.44)
    if months < 12:
        return ngettext("%(n)d month ago", "%(n)d months ago", months) % {"n": months}
    years = round(days / 365.25)
    return ngettext("%(n)d year ago", "%(n)d years ago", years) % {"n": years}


_ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
          (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def roman(number) -> str:
    """2 → "II": stages are written in Roman numerals, as the manuals do ("Tahap I", "Tahap II")."""
    try:
        value = int(number)
    except (TypeError, ValueError):
        return str(number or "")
    if value <= 0 or value >= 4000:
        return str(value)
    out = []
    for size, letters in _ROMAN:
        while value >= size:
            out.append(letters)
            value -= size
    return "".join(out)


def tahap(number) -> str:
    """"Tahap II" / "Stage II"."""
    return _("Stage %(stage)s") % {"stage": roman(number)}
