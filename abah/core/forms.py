"""The base of every form of the project: submitted text is cleaned (``abah.core.text.clean_text``) before any
field sees it.

A NUL typed or pasted into a form is removed, not refused (Django's ``ProhibitNullCharactersValidator`` never
fires) and never reaches PostgreSQL, which would refuse it with a DataError; control characters are removed
and U+2028 / U+2029 become line feeds. Every form class under ``abah/`` uses ``CleanTextMixin`` (put it first
among the bases) or one of the two bases below; ``tests/core/test_text.py`` walks them all.

Password fields (``PasswordInput``) are left as typed: a password is never stored as text nor sent to a phone,
and cleaning it would change a secret someone may already use.

Every date field of such a form is shown and typed as dd/mm/yyyy (``DateInput``: a text input, not the browser's
date picker, whose order follows the browser's locale: mm/dd/yyyy in an English Chromium), datetime fields as
dd/mm/yyyy hh:mm (``DateTimeInput``); ISO (2018-11-30) is accepted too, for the API and scripts. ``bound_dates``
puts these widgets and formats on every date field of every form, whatever widget the form declared.

Every date field (``DateField``, ``DateTimeField``, ``SplitDateTimeField``) of such a form accepts only a plausible
date, 1 January 2000 to 31 December 2100 (``abah.core.params.MIN_DATE`` / ``MAX_DATE``), with a clear message:
a year 0001 or 9999 would be stored and then break every date computed from it. A form whose field needs other
bounds says so in ``date_bounds = {"field": (min_date, max_date)}``, or ``{"field": None}`` when the form bounds
it itself (a birth date: from 1900 to yesterday).
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .formatting import tanggal
from .params import MAX_DATE, MIN_DATE
from .text import clean_data


class DateBounds:
    """A validator: the value (a date or a datetime) lies between ``minimum`` and ``maximum``, both included."""

    def __init__(self, minimum: datetime.date = MIN_DATE, maximum: datetime.date = MAX_DATE):
        self.minimum, self.maximum = minimum, maximum

    def __call__(self, value):
        if value is None:
            return
        day = value.date() if isinstance(value, datetime.datetime) else value
        if not (self.minimum <= day <= self.maximum):
            raise ValidationError(
                _("Enter a date between %(min)s and %(max)s.")
                % {"min": tanggal(self.minimum), "max": tanggal(self.maximum)},
                code="date_range",
            )

    def __eq__(self, other):
        return isinstance(other, DateBounds) and (self.minimum, self.maximum) == (other.minimum, other.maximum)


# Typed dates: day first always (never the browser's or the language's month-first order); ISO for the API.
DATE_FORMAT = "%d/%m/%Y"
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]
DATETIME_FORMAT = "%d/%m/%Y %H:%M"
DATETIME_INPUT_FORMATS = [
    *(f"{day} {time}" for day in DATE_INPUT_FORMATS[:3] for time in ("%H:%M", "%H.%M", "%H:%M:%S")),
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
]


class DateInput(forms.DateInput):
    """A date typed as dd/mm/yyyy whatever the browser's locale: a text input with a numeric keypad (the "/"
    is put in while typing, static/js/date-input.js) and the placeholder hh/bb/tttt (dd/mm/yyyy in English)."""

    input_type = "text"

    def __init__(self, attrs=None, format=None):  # noqa: A002 - Django's name
        base = {"placeholder": gettext_lazy("dd/mm/yyyy"), "inputmode": "numeric", "autocomplete": "off",
                "maxlength": "10", "data-abah-date": "date"}
        super().__init__(attrs={**base, **(attrs or {})}, format=format or DATE_FORMAT)


class DateTimeInput(forms.DateTimeInput):
    """A date and time typed as dd/mm/yyyy hh:mm (placeholder hh/bb/tttt jj:mm)."""

    input_type = "text"

    def __init__(self, attrs=None, format=None):  # noqa: A002 - Django's name
        base = {"placeholder": gettext_lazy("dd/mm/yyyy hh:mm"), "inputmode": "numeric", "autocomplete": "off",
                "maxlength": "16", "data-abah-date": "datetime"}
        super().__init__(attrs={**base, **(attrs or {})}, format=format or DATETIME_FORMAT)


def day_first(field) -> None:
    """Give a date or datetime field the project's widget, formats and message (``DateInput``/``DateTimeInput``),
    keeping the attributes the form gave its widget (a class, an id) but not ``type="date"``."""
    if isinstance(field, forms.SplitDateTimeField):
        return  # two inputs of its own (none in the project)
    datetime_field = isinstance(field, forms.DateTimeField)
    widget_class = DateTimeInput if datetime_field else DateInput
    if not isinstance(field.widget, widget_class):
        attrs = {k: v for k, v in field.widget.attrs.items() if k not in ("type", "min", "max")}
        widget = widget_class(attrs=attrs)
        widget.is_required = field.widget.is_required
        field.widget = widget
    field.input_formats = DATETIME_INPUT_FORMATS if datetime_field else DATE_INPUT_FORMATS
    field.error_messages = {**field.error_messages, "invalid": (
        gettext_lazy("Enter a date and time as dd/mm/yyyy hh:mm, for example 30/11/2018 09:00.") if datetime_field
        else gettext_lazy("Enter a date as dd/mm/yyyy, for example 30/11/2018."))}


def bound_dates(form) -> None:
    """Give every date field of ``form`` (its own copies of the fields) the dd/mm/yyyy widget and formats
    (``day_first``) and its date bound."""
    custom = getattr(form, "date_bounds", {}) or {}
    for name, field in form.fields.items():
        if not isinstance(field, (forms.DateField, forms.DateTimeField, forms.SplitDateTimeField)):
            continue
        day_first(field)
        if name in custom and custom[name] is None:
            continue
        minimum, maximum = custom.get(name, (MIN_DATE, MAX_DATE))
        bound = DateBounds(minimum or MIN_DATE, maximum or MAX_DATE)
        if bound not in field.validators:
            field.validators.append(bound)


class CleanTextMixin:
    """Clean every submitted string value before validation (``full_clean``); ``form.data`` is then the cleaned
    copy, so a form shown again with its errors shows the cleaned text."""

    date_bounds: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_dates(self)

    def full_clean(self):
        if self.is_bound:
            keep = {self.add_prefix(name) for name, field in self.fields.items()
                    if isinstance(field.widget, forms.PasswordInput)}
            self.data = clean_data(self.data, keep=keep)
        super().full_clean()


class Form(CleanTextMixin, forms.Form):
    pass


class ModelForm(CleanTextMixin, forms.ModelForm):
    pass
