"""Phone number verification: once per user, by a code sent as SMS (Perbaruhi Kontak → Konfirmasi)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "abah.verification"
    label = "verification"
    verbose_name = _("Phone verification")
