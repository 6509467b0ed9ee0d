from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from abah.core.forms import Form
from abah.grants.models import REGENCIES, Grant

MONEY_STYLES = [("", _("Default (settings)")), ("0", "Rp400.000.000,00"), ("1", "Rp. 400.000.000,00")]


def money_style(value: str) -> bool | None:
    return {"0": False, "1": True}.get(value)


def money_style_value(legacy: bool | None) -> str:
    return "" if legacy is None else ("1" if legacy else "0")


class TemplateForm(Form):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}), max_length=1530)
    money = forms.ChoiceField(label=_("Money style"), choices=MONEY_STYLES, required=False)


class BroadcastForm(Form):
    CONTACT = [("", _("All")), ("with", _("With a contact")), ("without", _("Without a contact"))]

    fiscal_year = forms.TypedChoiceField(label=_("Fiscal year"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False)
    jenis = forms.ChoiceField(label=_("Type"), required=False)
    regency = forms.ChoiceField(label=_("Regency/city"), required=False)
    petugas = forms.TypedChoiceField(label=_("Officer"), required=False, coerce=int, empty_value=None)
    contact = forms.ChoiceField(label=_("Contact"), required=False, choices=CONTACT)
    template = forms.ChoiceField(label=_("Template"), required=False)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1530)
    isi = forms.CharField(label=_("Message body {isi}"), required=False, max_length=1000,
                          widget=forms.Textarea(attrs={"rows": 3}))
    money = forms.ChoiceField(label=_("Money style"), choices=MONEY_STYLES, required=False)

    def __init__(self, *args, user, admin: bool, templates, **kwargs):
        super().__init__(*args, **kwargs)
        all_ = [("", _("All"))]
        years = Grant.objects.order_by("-fiscal_year").values_list("fiscal_year", flat=True).distinct()
        self.fields["fiscal_year"].choices = all_ + [(y, str(y)) for y in years]
        self.fields["status"].choices = all_ + list(Grant.Status.choices)
        self.fields["jenis"].choices = all_ + list(Grant.Jenis.choices)
        self.fields["regency"].choices = all_ + [(r, r) for r in REGENCIES]
        if admin:
            officers = get_user_model().objects.filter(role__in=["petugas", "admin"], is_active=True).order_by(
                "first_name", "username")
            self.fields["petugas"].choices = all_ + [(u.pk, u.get_full_name() or u.username) for u in officers]
        else:
            self.fields["petugas"].choices = [(user.pk, user.get_full_name() or user.username)]
            self.fields["petugas"].disabled = True
            self.fields["petugas"].initial = user.pk
        self.fields["template"].choices = [("", _("Write my own text"))] + [
            (v.template.kind, f"{v.template.get_kind_display()} (v{v.number})") for v in templates]

    def filters(self) -> dict:
        data = self.cleaned_data
        return {k: data.get(k) for k in ("fiscal_year", "status", "jenis", "regency", "petugas", "contact")}
