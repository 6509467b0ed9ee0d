"""Automatic SMS of the grant lifecycle: editable templates, disbursement notices, LPJ billing, broadcasts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "abah.automation"
    label = "automation"
    verbose_name = _("Automatic SMS")

    def ready(self):
        from abah.grants import signals as grant_signals

        from . import notices

        grant_signals.disbursement_recording.connect(notices.on_disbursement_recording,
                                                     dispatch_uid="automation.disbursement_notice")
