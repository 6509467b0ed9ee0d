"""In-app notifications, internal messages (Perpesanan) and their delivery by e-mail and SMS."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class NotificationsConfig(AppConfig):
    name = "abah.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from abah.core.nav import MenuItem, register_badge, register_menu

        from .badges import messages_badge, notifications_badge

        register_badge("notifications", notifications_badge)
        register_badge("messages", messages_badge)
        register_menu(MenuItem("ucp", pgettext_lazy("list", "Notifications"), "notifications:list", order=20, icon="bell"))
        register_menu(MenuItem("ucp", pgettext_lazy("internal", "Messages"), "notifications:inbox", order=30, icon="envelope"))
        register_menu(MenuItem("sms", _("Failed texts"), "notifications:failed_list", order=15,
                               icon="exclamation-octagon"))

        from abah.sms.signals import messages_unreported

        from .unreported import on_messages_unreported

        messages_unreported.connect(on_messages_unreported, dispatch_uid="notifications.unreported")

        from . import dashboard  # noqa: F401 — registers the "Pesan gagal" section
