"""The base of every form of the project: submitted text is cleaned (``abah.core.text.clean_text``) before any
field sees it.

A NUL typed or pasted into a form is removed, not refused (Django's ``ProhibitNullCharactersValidator`` never
fires) and never reaches PostgreSQL, which would refuse it with a DataError; control characters are removed
and U+2028 / U+2029 become line feeds. Every form class under ``abah/`` uses ``CleanTextMixin`` (put it first
among the bases) or one of the two bases below; ``tests/core/test_text.py`` walks them all.

Password fields (``PasswordInput``) are left as typed: a password is never stored as text nor sent to a phone,
and cleaning it would change a secret someone may already use.

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


def bound_dates(form) -> None:
    """Add the date bound to every date field of ``form`` (its own copies of the fields) and tell date pickers."""
    custom = getattr(form, "date_bounds", {}) or {}
    for name, field in form.fields.items():
        if not isinstance(field, (forms.DateField, forms.DateTimeField, forms.SplitDateTimeField)):
            continue
        if name in custom and custom[name] is None:
            continue
        minimum, maximum = custom.get(name, (MIN_DATE, MAX_DATE))
        bound = DateBounds(minimum or MIN_DATE, maximum or MAX_DATE)
        if bound not in field.validators:
            field.validators.append(bound)
        if getattr(field.widget, "input_type", "") == "date":
            field.widget.attrs.setdefault("min", bound.minimum.isoformat())
            field.widget.attrs.setdefault("max", bound.maximum.isoformat())


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
