"""Relative times in the manual's words: "sekitar 3 jam lalu" (English msgids: "about 3 hours ago")."""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def relative(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return _("in a moment")
    if seconds < 45:
        return _("just now")
    minutes = round(seconds / 60)
    if minutes < 60:
        return ngettext("about %(n)d minute ago", "about %(n)d minutes ago", minutes) % {"n": minutes}
    hours = round(seconds / 3600)
    if hours < 24:
        return ngettext("about %(n)d hour ago", "about %(n)d hours ago", hours) % {"n": hours}
    days = round(seconds / 86400)
    if days < 30:
        return ngettext("about %(n)d day ago", "about %(n)d days ago", days) % {"n": days}
    months = round(days / 30.44)
    if months < 12:
        return ngettext("about %(n)d month ago", "about %(n)d months ago", months) % {"n": months}
    years = round(days / 365.25)
    return ngettext("about %(n)d year ago", "about %(n)d years ago", years) % {"n": years}
