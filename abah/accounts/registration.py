"""Registration hardening: a throttle per client address and for the whole site, look-alike usernames, and the
e-mails that replace every "this name / address already exists" answer.

The throttle is a fixed-window counter in Django's default cache (``CACHES["default"]``: the local-memory cache
of the one web process that ``manage.py serve`` runs; several web machines each count on their own). Limits are
``REGISTRATION_LIMIT_PER_ADDRESS`` and ``REGISTRATION_LIMIT_GLOBAL`` (count, seconds) in settings.

Look-alikes: a username is compared with every existing one by its *skeleton* — NFKD with combining marks
dropped, NFKC, casefold, then a map of the common Cyrillic and Greek letters (and a few digits) that look like
Latin ones. The ``confusable_homoglyphs`` package is not a dependency, so the map below is our own and covers the
usual look-alikes, not every one of Unicode's confusables.
"""

import time
import unicodedata

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import User

DEFAULT_PER_ADDRESS = (5, 60 * 60)  # five registrations an hour from one address
DEFAULT_GLOBAL = (30, 60 * 60)  # thirty an hour for the whole site

# Cyrillic and Greek letters (lower case, after casefold) that look like Latin ones, and digits that look like
# letters. Upper-case look-alikes are covered by casefold first (e.g. Cyrillic "А" → "а" → "a").
_LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "l", "ї": "l", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t",
    "у": "y", "ү": "y", "х": "x", "ԝ": "w", "ѡ": "w", "ь": "b", "з": "3", "ɡ": "g", "п": "n",
    # Greek
    "α": "a", "β": "b", "ϲ": "c", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "μ": "u", "ϳ": "j", "ɩ": "l",
    # Latin and digits that are read as one another
    "i": "l", "1": "l", "|": "l", "0": "o", "5": "s",
}
_TABLE = str.maketrans(_LOOKALIKES)


def skeleton(username: str) -> str:
    """What a username looks like: two usernames with the same skeleton are confusable."""
    decomposed = unicodedata.normalize("NFKD", username)
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = unicodedata.normalize("NFKC", without_marks).casefold()
    return folded.translate(_TABLE).replace("rn", "m").replace("vv", "w")


def username_unavailable(username: str, *, exclude_pk: int | None = None) -> bool:
    """True when the username exists or looks like an existing one (Cyrillic "аdmin" for "admin")."""
    others = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    if others.filter(username__iexact=username).exists():
        return True
    wanted = skeleton(username)
    return any(skeleton(name) == wanted for name in others.values_list("username", flat=True).iterator())


def email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


# ---------------------------------------------------------------- throttle


def _client_address(request) -> str:
    try:
        from axes.helpers import get_client_ip_address  # honours AXES_IPWARE_PROXY_COUNT behind a proxy

        address = get_client_ip_address(request)
    except Exception:  # noqa: BLE001 — any failure of the helper: fall back to the socket's address
        address = None
    return address or request.META.get("REMOTE_ADDR") or "unknown"


def _hit(key: str, limit: int, window: int) -> bool:
    """Count one attempt in the current window; True when the limit is exceeded."""
    bucket = int(time.time() // window)
    name = f"abah:register:{key}:{bucket}"
    cache.add(name, 0, timeout=window * 2)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window * 2)
        count = 1
    return count > limit


def throttled(request) -> str | None:
    """Count a registration attempt; returns "address" or "global" when it is over a limit, else None."""
    per_address = getattr(settings, "REGISTRATION_LIMIT_PER_ADDRESS", DEFAULT_PER_ADDRESS)
    per_site = getattr(settings, "REGISTRATION_LIMIT_GLOBAL", DEFAULT_GLOBAL)
    if _hit(f"addr:{_client_address(request)}", *per_address):
        return "address"
    if _hit("global", *per_site):
        return "global"
    return None


# ---------------------------------------------------------------- e-mails


def _send(template: str, *, to: str, context: dict) -> None:
    """One plain-text e-mail in the site's language through the configured mailer; a transport error is not shown
    to the person registering (it would tell them which case they are in)."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
        body = render_to_string(f"accounts/email/{template}.txt", context)
    send_mail(" ".join(subject.split()), body, None, [to], fail_silently=True)


def notify(kind: str, *, request, email: str, username: str) -> None:
    """``kind``: "received" (account created), "email_taken" (tell the owner of the address someone tried to
    register with it), "username_taken" (the chosen name is not available)."""
    context = {
        "username": username,
        "login_url": request.build_absolute_uri(reverse("accounts:login")),
        "reset_url": request.build_absolute_uri(reverse("accounts:password_reset")),
        "register_url": request.build_absolute_uri(reverse("accounts:register")),
    }
    _send(f"register_{kind}", to=email, context=context)
