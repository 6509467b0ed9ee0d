from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from abah.core import formatting


@pytest.mark.parametrize("amount,expected", [
    (Decimal("400000000"), "Rp400.000.000,00"),
    (0, "Rp0,00"),
    (Decimal("1234.5"), "Rp1.234,50"),
    (Decimal("999"), "Rp999,00"),
    (Decimal("-1500000.005"), "-Rp1.500.000,01"),
])
def test_rupiah(amount, expected):
    assert formatting.rupiah(amount) == expected


def test_rupiah_legacy_and_ascii_only():
    assert formatting.rupiah(Decimal("400000000"), legacy=True) == "Rp. 400.000.000,00"
    assert formatting.rupiah(123456).isascii()


def test_dates_and_times_in_wib():
    utc = datetime(2018, 11, 30, 5, 53, 19, tzinfo=ZoneInfo("UTC"))
    assert formatting.tanggal(date(2018, 11, 30)) == "30 November 2018"
    assert formatting.waktu(utc) == "30 November 2018 12:53:19 WIB"
    assert formatting.hari_tanggal(date(2018, 11, 30)) == "Jumat, 30 November 2018"
    assert formatting.jam(time(9, 0)) == "pukul 09.00 WIB"
    late = datetime(2018, 11, 30, 20, 0, tzinfo=ZoneInfo("UTC"))
    assert formatting.tanggal(late) == "1 Desember 2018"
