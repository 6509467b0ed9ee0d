"""The audit log (who viewed, searched, exported, imported, sent or changed what) and data retention."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "abah.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self):
        from django.contrib.auth import signals as auth_signals

        from abah.core.nav import MenuItem, register_menu
        from abah.core.runtime import register_worker
        from abah.sms import signals as sms_signals

        from . import receivers

        auth_signals.user_logged_in.connect(receivers.on_logged_in, dispatch_uid="audit.login")
        auth_signals.user_logged_out.connect(receivers.on_logged_out, dispatch_uid="audit.logout")
        auth_signals.user_login_failed.connect(receivers.on_login_failed, dispatch_uid="audit.login_failed")
        sms_signals.message_typed.connect(receivers.on_message_typed, dispatch_uid="audit.message_typed")
        register_menu(MenuItem("admin", _("Audit log"), "audit:entry_list", order=50, admin_only=True,
                               icon="journal-text"))
        register_worker("retention", ["retention", "--loop", "--every", "86400"])
