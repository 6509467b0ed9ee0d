"""Grant administration: institutions (lembaga), contacts, grants (hibah) and their lifecycle."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "abah.grants"
    label = "grants"
    verbose_name = _("Grants")

    def ready(self):
        from abah.core import nav

        # dashboard and demo register the dashboard section and the demo seeder on import.
        from . import dashboard, demo, hooks, messaging  # noqa: F401

        messaging.register()
        hooks.connect()

        nav.set_search("grants:search")
        nav.register_menu(nav.MenuItem("hibah", _("Grant data"), "grants:search", order=10, icon="search"))
        nav.register_menu(nav.MenuItem("hibah", _("Institutions"), "grants:institution_list", order=20,
                                       icon="building"))
        nav.register_menu(nav.MenuItem("hibah", _("Import"), "grants:import_upload", order=80, admin_only=True,
                                       icon="upload"))
        nav.register_menu(nav.MenuItem("admin", _("Close fiscal year"), "grants:fiscal_year_close", order=40,
                                       admin_only=True, icon="archive"))
