"""abah.core.params (numbers, ids, dates from a query), abah.core.redirects (only this site), the date bound of
every form (abah.core.forms)."""

import datetime

import pytest
from django import forms as django_forms
from django.http import QueryDict
from django.test import RequestFactory

from abah.core import forms as core_forms
from abah.core.params import (
    MAX_ID,
    BadParameter,
    date_param,
    id_param,
    ids_param,
    int_param,
    parse_date,
    parse_int,
)
from abah.core.redirects import safe_next, safe_url


@pytest.mark.parametrize("raw", ["²", "١٢", "٣", "1²", "10000000000000000000000000", str(2**63), "-1", "0", "",
                                 "1.5", "1e3", " ", "abc", "\x00", "\ud800", "０", "+1", "0x10"])
def test_int_and_id_refuse_what_is_not_a_positive_ascii_integer_below_2_63(raw):
    assert id_param({"before": raw}, "before") is None
    assert parse_int(raw) is None


def test_int_accepts_ascii_digits_in_bounds():
    assert id_param({"before": " 42 "}, "before") == 42
    assert id_param({"before": str(MAX_ID)}, "before") == MAX_ID
    assert int_param({"n": "-5"}, "n", minimum=-10) == -5
    assert int_param({"n": "2101"}, "n", minimum=2000, maximum=2100) is None


def test_strict_answers_bad_request_only_for_a_given_bad_value():
    with pytest.raises(BadParameter):
        id_param({"before": "²"}, "before", strict=True)
    assert id_param({}, "before", strict=True) is None


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "2026-13-45", "2026-02-30", "1999-12-31",
                                 "2101-01-01", "²⁰²⁶-01-01", "٢٠٢٦-01-01", "2026-1-1", "20260101", "x"])
def test_date_refuses_impossible_or_implausible_days(raw):
    assert date_param({"from": raw}, "from") is None
    assert parse_date(raw) is None


def test_date_accepts_the_range_ends():
    assert date_param({"from": "2000-01-01"}, "from") == datetime.date(2000, 1, 1)
    assert date_param({"to": "2100-12-31"}, "to") == datetime.date(2100, 12, 31)


def test_ids_drop_bad_values_and_repeats_and_keep_order():
    data = QueryDict("ids=3&ids=²&ids=10000000000000000000000000&ids=1,2&ids=3&ids=-4&ids=")
    assert ids_param(data, "ids") == [3, 1, 2]
    assert ids_param(QueryDict("ids=1&ids=2&ids=3"), "ids", limit=2) == [1, 2]
    with pytest.raises(BadParameter):
        ids_param(QueryDict("ids=1&ids=²"), "ids", strict=True)


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "javascript:alert(1)",
                                    "/\\evil.example", "\\\\evil.example", "http://testserver@evil.example/",
                                    "https:evil.example", " //evil.example", "\x00//evil.example", "²",
                                    "grants:search", "foo"])
def test_safe_next_refuses_other_sites(target):
    request = RequestFactory().post("/x/", {"next": target})
    assert safe_next(request, "/fallback/") == "/fallback/"


def test_safe_next_keeps_own_paths_and_resolves_url_names():
    request = RequestFactory().post("/x/", {"next": "/hibah/1/?tab=log"})
    assert safe_next(request, "/fallback/") == "/hibah/1/?tab=log"
    request = RequestFactory().get("/x/")
    assert safe_next(request, "grants:search") == "/hibah/cari/"
    assert safe_url(request, "http://testserver/hibah/", "/") == "http://testserver/hibah/"


class _Dates(core_forms.Form):
    day = django_forms.DateField()
    at = django_forms.DateTimeField(required=False)


class _OwnBounds(core_forms.Form):
    date_bounds = {"born": None, "window": (datetime.date(2020, 1, 1), datetime.date(2030, 12, 31))}
    born = django_forms.DateField()
    window = django_forms.DateField(required=False)


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"])
def test_every_date_field_is_bounded_with_an_indonesian_message(value):
    form = _Dates({"day": value})
    assert not form.is_valid()
    assert form.errors["day"] == ["Masukkan tanggal antara 1 Januari 2000 dan 31 Desember 2100."]
    form = _Dates({"day": "2026-01-01", "at": value + " 10:00"})
    assert not form.is_valid() and "at" in form.errors


def test_the_bound_keeps_plausible_dates_and_can_be_set_per_field():
    form = _Dates({"day": "2000-01-01", "at": "2100-12-31 23:59"})
    assert form.is_valid(), form.errors
    assert _OwnBounds({"born": "1950-05-05"}).is_valid()
    assert not _OwnBounds({"born": "1950-05-05", "window": "2019-12-31"}).is_valid()
