"""System checks of the deployment that must stop the application, not only `check --deploy`."""

import sys
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register

MISSING_SECRET_KEY = "SECRET_KEY must be set when DEBUG is off (see README, 'Production')."  # noqa: S105 - a message

# Commands that sign nothing and may run on the throwaway key (a maintainer's checkout, a build step).
MAINTENANCE_COMMANDS = {"makemigrations", "migrate", "showmigrations", "sqlmigrate", "makemessages",
                        "compilemessages", "collectstatic"}


def _maintenance_command() -> bool:
    return len(sys.argv) > 1 and Path(sys.argv[0]).name == "manage.py" and sys.argv[1] in MAINTENANCE_COMMANDS


@register()
def secret_key_is_set(app_configs, **kwargs):
    """Everything that serves or works (check, serve, runserver, smsd, db_worker, lpj_reminders …) stops here
    without SECRET_KEY in production; config/wsgi.py stops a WSGI server the same way."""
    if getattr(settings, "SECRET_KEY_MISSING", False) and not _maintenance_command():
        return [Error(MISSING_SECRET_KEY, hint="export SECRET_KEY=… (50 random characters)", id="core.E001")]
    return []
