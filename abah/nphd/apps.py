"""Undangan NPHD: invitations to sign grant agreements, grouped into appointments, processed by SMS."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NphdConfig(AppConfig):
    name = "abah.nphd"
    label = "nphd"
    verbose_name = _("NPHD invitations")
