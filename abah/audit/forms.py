import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from abah.core.forms import DateInput, Form

from .models import AuditEntry

MIN_DATE = datetime.date(2000, 1, 1)
MAX_DATE = datetime.date(2100, 12, 31)


class BoundedDateField(forms.DateField):
    widget = DateInput  # dd/mm/yyyy; the formats are abah.core.forms's, put on by the form (bound_dates)

    def clean(self, value):
        day = super().clean(value)
        if day is not None and not MIN_DATE <= day <= MAX_DATE:
            raise forms.ValidationError(_("Choose a date between 2000 and 2100."), code="range")
        return day


class AuditFilterForm(Form):
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("All actions"))] + list(AuditEntry.Action.choices))
    start = BoundedDateField(label=_("From"), required=False)
    end = BoundedDateField(label=_("To"), required=False)
    q = forms.CharField(label=_("Text"), required=False, max_length=200)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The end date is before the start date."))
        return data
