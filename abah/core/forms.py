"""The base of every form of the project: submitted text is cleaned (``abah.core.text.clean_text``) before any
field sees it.

A NUL typed or pasted into a form is removed, not refused (Django's ``ProhibitNullCharactersValidator`` never
fires) and never reaches PostgreSQL, which would refuse it with a DataError; control characters are removed
and U+2028 / U+2029 become line feeds. Every form class under ``abah/`` uses ``CleanTextMixin`` (put it first
among the bases) or one of the two bases below; ``tests/core/test_text.py`` walks them all.

Password fields (``PasswordInput``) are left as typed: a password is never stored as text nor sent to a phone,
and cleaning it would change a secret someone may already use.
"""

from django import forms

from .text import clean_data


class CleanTextMixin:
    """Clean every submitted string value before validation (``full_clean``); ``form.data`` is then the cleaned
    copy, so a form shown again with its errors shows the cleaned text."""

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
