"""Undangan NPHD: invitations to sign grant agreements, grouped into appointments, processed by SMS."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NphdConfig(AppConfig):
    name = "abah.nphd"
    label = "nphd"
    verbose_name = _("NPHD invitations")

    def ready(self):
        from abah.core import nav
        from abah.grants import cards, signals

        from . import demo, services  # noqa: F401  (demo registers its seeder on import)
        from .cards import invite_action

        nav.register_menu(nav.MenuItem("hibah", _("NPHD invitations"), "nphd:appointment_list", order=30,
                                       icon="calendar-event"))
        cards.register_action("undangan_nphd", invite_action)
        signals.nphd_signed.connect(services.on_nphd_signed, dispatch_uid="nphd.close_on_signed")
