"""Forms for Perpesanan (internal messages)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from abah.core.forms import Form


class UserChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        # An id beyond the database's integer (10^25, 2**63) is no user: refused like any unknown one, before the
        # query (SQLite raises OverflowError on it).
        from abah.core.params import parse_int

        for pk in value:
            if parse_int(str(pk)) is None:
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                            params={"pk": pk})
        return super()._check_values(value)

    def label_from_instance(self, obj):
        name = obj.get_full_name() or obj.username
        return f"{name} ({obj.get_role_display()})" if obj.role else name


class ComposeForm(Form):
    recipients = UserChoiceField(
        label=pgettext_lazy("recipient", "To"),
        queryset=get_user_model().objects.none(),
        help_text=_("Hold Ctrl (or Cmd) to choose several people."),
        error_messages={
            "required": _("Choose at least one recipient."),
            "invalid_choice": _("Choose recipients from the list."),
            "invalid_pk_value": _("Choose recipients from the list."),
        },
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 7}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = (
            get_user_model().objects.filter(is_active=True).exclude(role="").exclude(pk=user.pk)
            .order_by("first_name", "last_name", "username")
        )
        self.fields["recipients"].widget.attrs["size"] = 6
