"""Settings of the NPHD invitations, with code defaults (overridable in Django settings).

- ``ABAH_NPHD_TIME``: the default time of a new appointment, "HH:MM" or a ``datetime.time`` (09:00 → the SMS says
  "pukul 09.00 WIB").
- ``ABAH_NPHD_PLACE``: the default place of a new appointment.

Each appointment keeps its own time and place (editable before Proses); these are only the defaults.
"""

import datetime

from django.conf import settings

DEFAULT_TIME = datetime.time(9, 0)
DEFAULT_PLACE = "Kantor Biro Kesra Setdaprov Jawa Timur, Jl. Pahlawan 110 Surabaya"


def default_time() -> datetime.time:
    value = getattr(settings, "ABAH_NPHD_TIME", None) or DEFAULT_TIME
    if isinstance(value, datetime.time):
        return value
    try:
        hours, minutes = str(value).replace(".", ":").split(":")[:2]
        return datetime.time(int(hours), int(minutes))
    except (TypeError, ValueError):
        return DEFAULT_TIME


def default_place() -> str:
    return " ".join(str(getattr(settings, "ABAH_NPHD_PLACE", "") or DEFAULT_PLACE).split())[:255]
