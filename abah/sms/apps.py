"""The SMS Center: messages, conversations, encoding, numbers, gateways and the daemon. Knows nothing of grants."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    name = "abah.sms"
    label = "sms"
    verbose_name = _("SMS Center")

    def ready(self):
        from django.db.models import Field, ForeignObject

        from abah.core.nav import MenuItem, register_menu

        from .dbutil import AnyOf

        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)  # related fields keep their own lookups: field_id__any=[…]
        from abah.core.runtime import register_worker

        register_menu(MenuItem("ucp", _("Messages"), "sms:message_list", order=20, icon="chat-left-text"))
        register_menu(MenuItem("sms", _("Messages"), "sms:message_list", order=10, icon="chat-left-text"))
        register_menu(MenuItem("sms", _("Unknown senders"), "sms:unknown_senders", order=30, admin_only=True,
                               icon="person-question"))
        register_menu(MenuItem("sms", _("SMS Center status"), "sms:status", order=40, admin_only=True,
                               icon="activity"))
        register_menu(MenuItem("sms", _("SMS settings"), "sms:settings", order=45, admin_only=True,
                               icon="clock-history"))  # the send window (Jam kirim)
        from .conf import simulator_active

        # Every staff member's, in demo mode: the virtual phones exist only while the simulator is a gateway.
        register_menu(MenuItem("sms", _("Virtual phones"), "sms:simulator_phones", order=50, icon="phone",
                               when=simulator_active))
        from .conf import gateways

        names = list(gateways())
        if len(names) <= 1:
            register_worker("smsd", ["smsd"])
        else:  # one worker per gateway: each claims the kinds its gateway serves first (docs/gateways.md)
            for name in names:
                register_worker(f"smsd-{name}", ["smsd", "--gateway", name])
        from django.db.models.signals import post_migrate

        from . import search

        post_migrate.connect(search.ensure, sender=self, dispatch_uid="abah.sms.search.ensure")
