"""Date fields show and accept dd/mm/yyyy whatever the browser's locale or the chosen language (issue 14, item 9):
one widget (abah.core.forms.DateInput / DateTimeInput) on every date field of every form, ISO still accepted."""

import datetime
import importlib
import pkgutil
from pathlib import Path

import pytest
from django import forms as django_forms
from django.utils import translation

import abah
from abah.core import forms as core_forms
from abah.core.params import date_param

pytestmark = pytest.mark.django_db


class _Dates(core_forms.Form):
    day = django_forms.DateField(widget=django_forms.DateInput(attrs={"type": "date", "class": "x"}))
    at = django_forms.DateTimeField(required=False)


@pytest.mark.parametrize("language", ["id", "en"])
def test_day_first_is_read_in_both_languages(language):
    with translation.override(language):
        form = _Dates({"day": "03/04/2018", "at": "30/11/2018 09:05"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["day"] == datetime.date(2018, 4, 3)  # 3 April, never 4 March
        assert form.cleaned_data["at"].replace(tzinfo=None) == datetime.datetime(2018, 11, 30, 9, 5)
        for typed in ("3/4/2018", "03-04-2018", "03.04.2018", "2018-04-03"):  # by hand, and ISO (API, tests)
            assert _Dates({"day": typed}).is_valid(), typed
        assert _Dates({"day": "2018-04-03", "at": "2018-11-30T09:05"}).is_valid()


def test_wrong_dates_say_how_to_write_them_in_indonesian_and_english():
    with translation.override("id"):
        form = _Dates({"day": "11/30/2018", "at": "30/11/2018 9 pagi"})
        assert not form.is_valid()
        assert form.errors["day"] == ["Masukkan tanggal sebagai hh/bb/tttt, misalnya 30/11/2018."]
        assert form.errors["at"] == ["Masukkan tanggal dan jam sebagai hh/bb/tttt jj:mm, misalnya 30/11/2018 09:00."]
        assert _Dates({"day": "31/02/2018"}).errors["day"] == ["Masukkan tanggal sebagai hh/bb/tttt, misalnya 30/11/2018."]
        assert _Dates({"day": "30/11/1999"}).errors["day"] == ["Masukkan tanggal antara 1 Januari 2000 dan 31 Desember 2100."]
    with translation.override("en"):
        assert _Dates({"day": "11/30/2018"}).errors["day"] == ["Enter a date as dd/mm/yyyy, for example 30/11/2018."]


@pytest.mark.parametrize(("language", "placeholder", "placeholder_time"),
                         [("id", "hh/bb/tttt", "hh/bb/tttt jj:mm"), ("en", "dd/mm/yyyy", "dd/mm/yyyy hh:mm")])
def test_the_field_shows_day_first_as_text(language, placeholder, placeholder_time):
    with translation.override(language):
        form = _Dates(initial={"day": datetime.date(2018, 11, 30), "at": datetime.datetime(2018, 11, 30, 9, 5)})
        day, at = str(form["day"]), str(form["at"])
    assert 'type="text"' in day and 'type="date"' not in day and 'class="x"' in day
    assert 'value="30/11/2018"' in day and f'placeholder="{placeholder}"' in day and 'inputmode="numeric"' in day
    assert 'value="30/11/2018 09:05"' in at and f'placeholder="{placeholder_time}"' in at
    # Shown again after an error: what was typed.
    assert 'value="31/02/2018"' in str(_Dates({"day": "31/02/2018"})["day"])


def _project_forms():
    root = Path(abah.__file__).resolve().parent
    for info in pkgutil.walk_packages([str(root)], prefix="abah."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
    seen, todo = set(), [django_forms.BaseForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return [c for c in seen if c.__module__.startswith("abah.")]


def test_every_date_field_of_every_form_is_day_first():
    checked = []
    for cls in _project_forms():
        try:
            form = cls()
        except (TypeError, ValueError, KeyError, AttributeError):  # needs arguments, or an abstract base
            continue
        for name, field in form.fields.items():
            if isinstance(field, (django_forms.DateField, django_forms.DateTimeField)):
                html = str(form[name])
                assert 'type="text"' in html and 'data-abah-date' in html, f"{cls.__qualname__}.{name}: {html}"
                checked.append(f"{cls.__qualname__}.{name}")
    # The grant, NPHD, account and audit forms with dates are among them.
    for expected in ("DisbursementForm.paid_on", "NphdSignForm.signed_on", "AuditFilterForm.start",
                     "ProfileForm.birth_date", "FilterForm.date_from"):
        assert any(entry.endswith(expected) for entry in checked), (expected, checked)


def test_query_dates_are_read_day_first_too():
    assert date_param({"from": "30/11/2018"}, "from") == datetime.date(2018, 11, 30)
    assert date_param({"from": "2018-11-30"}, "from") == datetime.date(2018, 11, 30)
    assert date_param({"from": "31/02/2018"}, "from") is None
    assert date_param({"from": "11/30/2018"}, "from") is None
