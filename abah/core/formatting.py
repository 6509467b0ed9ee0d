"""Indonesian formatting of money, dates and times, independent of the active locale."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

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
