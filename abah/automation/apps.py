"""Automatic SMS of the grant lifecycle: editable templates, disbursement notices, LPJ billing, broadcasts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "abah.automation"
    label = "automation"
    verbose_name = _("Automatic SMS")

    def ready(self):
        from abah.core.nav import MenuItem, register_menu
        from abah.core.runtime import register_worker
        from abah.grants import panels
        from abah.grants import signals as grant_signals

        from . import notices, views

        grant_signals.disbursement_recording.connect(notices.on_disbursement_recording,
                                                     dispatch_uid="automation.disbursement_notice")
        register_menu(MenuItem("sms", _("Broadcasts"), "automation:broadcast_list", order=20, icon="megaphone"))
        register_menu(MenuItem("sms", _("SMS templates"), "automation:template_list", order=35, admin_only=True,
                               icon="file-earmark-text"))
        panels.register_panel(views.grant_reminders_panel, order=50)
        register_worker("lpj-reminders", ["lpj_reminders", "--loop"])
