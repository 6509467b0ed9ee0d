"""Forms for registration, the profile tabs and the Admin's user management."""

import unicodedata

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from abah.core.forms import CleanTextMixin, DateInput, Form, ModelForm

from .models import User


class RegistrationForm(CleanTextMixin, UserCreationForm):
    class Meta:
        model = User
        fields = ["username", "email", "first_name", "last_name"]
        field_classes = {"username": auth_forms.UsernameField}  # NFKC before the validators see the name

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].required = True
        self.fields["email"].required = True

    def clean_email(self):
        # Whether the address is taken is never said here: the view e-mails its owner instead.
        return self.cleaned_data["email"].strip().lower()

    def clean_username(self):
        # UsernameField has NFKC-normalised the name; whether it (or a look-alike) is taken is never said here
        # either — the view answers the same and tells the person by e-mail (abah.accounts.registration).
        username = self.cleaned_data.get("username")
        return unicodedata.normalize("NFKC", username) if username else username

    def validate_unique(self):
        """No "a user with that username already exists": the view decides without telling."""


class ProfileForm(ModelForm):
    date_bounds = {"birth_date": None}  # bounded by clean_birth_date (1900 to yesterday), not 2000-2100

    class Meta:
        model = User
        fields = ["username", "email", "first_name", "last_name", "birth_date", "gender"]
        widgets = {"birth_date": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("email", "first_name", "birth_date", "gender"):
            self.fields[name].required = True

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."))
        return email

    def clean_username(self):
        # A renamed account may not take a look-alike of another one (Cyrillic "аdmin" for "admin") either.
        from .registration import username_unavailable

        username = unicodedata.normalize("NFKC", self.cleaned_data["username"])
        if username != self.instance.username and username_unavailable(username, exclude_pk=self.instance.pk):
            raise forms.ValidationError(_("This username is taken or looks too much like an existing one."))
        return username

    def clean_birth_date(self):
        from django.utils import timezone

        value = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        if value and (value >= today or value.year < 1900):
            raise forms.ValidationError(_("Enter a valid birth date."))
        return value


class AvatarForm(Form):
    avatar = forms.FileField(label=_("Avatar"), help_text=_("PNG, JPEG, GIF or WebP, at most 2 MB."))


class NotificationPrefsForm(ModelForm):
    class Meta:
        model = User
        fields = ["notify_email", "notify_sms"]
        labels = {"notify_email": _("E-mail"), "notify_sms": _("Text message")}
        help_texts = {
            "notify_email": _("Send notifications to my e-mail address."),
            "notify_sms": _("Send notifications to my mobile phone."),
        }


class ApproveForm(Form):
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices)


class RoleForm(Form):
    role = forms.ChoiceField(label=_("Role"), choices=User.Role.choices)


class UserFilterForm(Form):
    STATE_CHOICES = [
        ("pending", _("Waiting for approval")),
        ("active", _("Active")),
        ("inactive", _("Inactive")),
        ("rejected", _("Rejected")),
        ("all", _("All")),
    ]
    state = forms.ChoiceField(label=_("State"), choices=STATE_CHOICES, required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


# Django's own account forms, with their text cleaned like every other form (passwords are kept as typed).


class PasswordChangeForm(CleanTextMixin, auth_forms.PasswordChangeForm):
    pass


class PasswordResetForm(CleanTextMixin, auth_forms.PasswordResetForm):
    pass


class SetPasswordForm(CleanTextMixin, auth_forms.SetPasswordForm):
    pass
