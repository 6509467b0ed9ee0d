"""Users, roles, registration with admin approval, and the profile (UCP)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "abah.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from abah.core.nav import MenuItem, register_menu

        from . import demo  # noqa: F401  (registers the demo seeder)

        register_menu(MenuItem("admin", _("Users"), "accounts:user_list", order=10, admin_only=True, icon="people"))
