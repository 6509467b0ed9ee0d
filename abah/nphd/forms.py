"""Forms of the NPHD invitations. They parse input; the rules live in the services (which check again)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from abah.core.forms import DateInput, Form
from abah.grants.forms import ContactForm


class ContactFields(ContactForm):
    """Negara, Nomor Telepon (exactly one mobile number), Kontak Person: the institution contact form's
    fields (and its parsing), labelled for an invitation."""

    region = forms.ChoiceField(label=pgettext_lazy("nphd invitation", "Country"), initial="ID")
    phone = forms.CharField(label=pgettext_lazy("nphd invitation", "Phone number"), max_length=60,
                            help_text=_("Exactly one active mobile number."),
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    person = forms.CharField(label=pgettext_lazy("nphd invitation", "Contact person"), max_length=150)


class InvitationForm(ContactFields):
    """Undangan NPHD: <lembaga> — Negara, Nomor Telepon, Kontak Person, Tanggal NPHD; Ya / Tidak."""

    date = forms.DateField(label=pgettext_lazy("nphd invitation", "NPHD date"), widget=DateInput())

    field_order = ["region", "phone", "person", "date"]

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.fields["date"].widget.attrs["min"] = self.today.isoformat()

    def clean_date(self):
        value = self.cleaned_data["date"]
        if value < self.today:
            raise ValidationError(_("The NPHD date cannot be in the past."), code="past")
        return value


class AppointmentForm(Form):
    """The time and place the invitation text announces."""

    time = forms.TimeField(label=_("Time (WIB)"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    place = forms.CharField(label=_("Place"), max_length=255)


class CancelForm(Form):
    send_text = forms.BooleanField(label=_("Text the cancellation to the institutions already invited by SMS"),
                                   required=False)


BULK_PROCESS = "process"
BULK_CANCEL = "cancel"


class FilterForm(Form):
    """Filter of Hibah > Undangan NPHD: date range, petugas (Admin), notification sent or not, status."""

    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=DateInput())
    petugas = forms.TypedChoiceField(label=_("Officer"), required=False, coerce=int, empty_value=None)
    notified = forms.ChoiceField(label=pgettext_lazy("nphd", "Notification"), required=False, choices=[
        ("", _("All")), ("1", pgettext_lazy("nphd notification", "Sent")), ("0", pgettext_lazy("nphd notification", "Not sent"))])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("Active")), ("cancelled", pgettext_lazy("nphd appointment", "Cancelled")), ("all", _("All"))])

    def __init__(self, *args, petugas_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["petugas"].choices = [("", _("All officers")), *petugas_choices]
