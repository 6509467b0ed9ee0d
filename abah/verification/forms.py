"""Forms of the verification pages: Perbaruhi Kontak (country + number) and the code."""

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from abah.core.forms import Form
from abah.sms.phone import DEFAULT_REGION, country_choices


class ContactForm(Form):
    country = forms.ChoiceField(label=_("Country"), initial=DEFAULT_REGION)
    number = forms.CharField(
        label=_("Phone number"), max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel-national", "placeholder": "08123090095"}),
        error_messages={"required": _("Enter a mobile phone number.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = country_choices(get_language() or "id")


class CodeForm(Form):
    code = forms.CharField(
        label=_("Verification code"), max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
        error_messages={"required": _("Enter the verification code.")},
    )
