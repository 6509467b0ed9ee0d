import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after the application: settings are configured now)

if settings.SECRET_KEY_MISSING:  # sessions and codes would be signed with a key that dies with the process
    from django.core.exceptions import ImproperlyConfigured

    from abah.core.checks import MISSING_SECRET_KEY

    raise ImproperlyConfigured(MISSING_SECRET_KEY)

from abah.sms.conf import warm_calendar  # noqa: E402

warm_calendar()  # the send window's holidays are built before the first page that shows the next send time
