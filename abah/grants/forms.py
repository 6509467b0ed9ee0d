"""Forms of the grants app. Validation of data lives in the services; forms only parse input."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from abah.core.forms import DateInput, Form
from abah.sms.phone import country_choices

from .models import Grant
from .phones import parse_contact_number


def _money_field(label, required=True):
    return forms.DecimalField(label=label, required=required, max_digits=18, decimal_places=2, min_value=0,
                              widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))


class SearchForm(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    scope = forms.ChoiceField(choices=[("aktif", _("Active data")), ("arsip", _("Archived data"))],
                              required=False)


class ContactForm(Form):
    """Negara, Nomor Telepon (exactly one mobile number), Kontak Person."""

    region = forms.ChoiceField(label=pgettext_lazy("institution contact", "Country"), initial="ID")
    phone = forms.CharField(label=pgettext_lazy("institution contact", "Phone number"), max_length=40,
                            help_text=_("Please enter a mobile phone number for text messages (SMS)."),
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    person = forms.CharField(label=pgettext_lazy("institution contact", "Contact person"), max_length=150)

    field_order = ["region", "phone", "person"]

    def __init__(self, *args, language="id", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = country_choices(language)

    def clean(self):
        data = super().clean()
        raw = data.get("phone")
        if raw:
            try:
                data["phone_e164"] = parse_contact_number(raw, data.get("region") or "ID")
            except ValidationError as error:
                self.add_error("phone", error)
        return data


class NphdSignForm(Form):
    signed_on = forms.DateField(label=_("NPHD signed on"), widget=DateInput())
    nphd_number = forms.CharField(label=_("NPHD number"), max_length=100, required=False)
    lpj_due_date = forms.DateField(label=_("LPJ due date"), required=False, widget=DateInput(),
                                   help_text=_("Empty: 10 January of the next fiscal year."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signed_on"].initial = timezone.localdate()


class NphdSignWithContactForm(ContactForm, NphdSignForm):
    field_order = ["region", "phone", "person", "signed_on", "nphd_number", "lpj_due_date"]


class DisbursementForm(Form):
    amount = _money_field(_("Amount (Rp)"))
    paid_on = forms.DateField(label=_("Transfer date"), widget=DateInput())
    sp2d_number = forms.CharField(label=_("SP2D number"), max_length=100)


class LpjReceiveForm(Form):
    received_on = forms.DateField(label=_("LPJ received on"), widget=DateInput())


class LpjDueForm(Form):
    due_date = forms.DateField(label=_("LPJ due date"), widget=DateInput())


class StatusForm(Form):
    """Change the status; the extra fields are needed for some targets only (SK, NPHD date)."""

    to = forms.ChoiceField(label=_("New status"))
    sk_number = forms.CharField(label=_("SK number"), max_length=100, required=False)
    sk_date = forms.DateField(label=_("SK date"), required=False, widget=DateInput())
    sk_issuer = forms.CharField(label=_("SK issuer"), max_length=150, required=False, initial="GUBERNUR JAWA TIMUR")
    amount_approved = _money_field(_("Amount approved (Rp)"), required=False)
    dpa_number = forms.CharField(label=_("DPA number"), max_length=40, required=False)
    nphd_date = forms.DateField(label=_("NPHD date"), required=False, widget=DateInput())
    note = forms.CharField(label=_("Note"), required=False, max_length=400, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [(t, Grant.Status(t).label) for t in targets]


class AssignForm(Form):
    petugas = forms.ModelChoiceField(label=_("Assign to"), queryset=None, required=False,
                                     empty_label=_("(nobody)"))

    def __init__(self, *args, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(*args, **kwargs)
        self.fields["petugas"].queryset = get_user_model().objects.filter(
            is_active=True, role__in=["admin", "petugas"])


class NoteForm(Form):
    text = forms.CharField(label=_("Note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class ImportForm(Form):
    file = forms.FileField(label=_("File (.xlsx or .csv)"),
                           help_text=_("At most 5 MB and 5000 rows. The first row holds the column names."))


class FiscalYearCloseForm(Form):
    YEAR_ERROR = _("Enter a fiscal year between 2000 and 2100.")
    fiscal_year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=2100, error_messages={
        "invalid": YEAR_ERROR, "min_value": YEAR_ERROR, "max_value": YEAR_ERROR, "required": YEAR_ERROR})

    def clean_fiscal_year(self):
        year = self.cleaned_data["fiscal_year"]
        raw = str(self.data.get(self.add_prefix("fiscal_year"), "")).strip()
        if not raw.isascii():  # "٢٠٢٦" reads as 2026 to int(): a year is typed with ASCII digits
            raise forms.ValidationError(self.YEAR_ERROR, code="invalid")
        return year
