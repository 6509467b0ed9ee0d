"""Who may read which SMS message: one rule, used by every view that lists, searches, counts or shows messages.

The rule (UU 27/2022: a staff member's messages are personal data, not shared work):

- **Shared** messages — no addressee and not of a private kind: institution conversations (typed messages,
  invitations, disbursement notices, billing, broadcasts, replies) — are visible to every staff member,
  Admins included, text in clear. They are the office's shared work.
- **Addressed** messages — ``Message.addressee`` set: verification codes, notification copies and
  internal-message copies (set by abah.verification and abah.notifications when they queue them) — are
  visible only to that staff member. Privacy between staff members holds for Admins too: an Admin does not
  see another person's codes or notification copies in UCP > Pesan, its search, its counts or any thread.
- Messages of a **private kind** (``PRIVATE_KINDS``: codes, notifications) without an addressee (queued before
  this rule, or whose addressee was deleted) are visible to nobody: private by default.
- A **verification code** is visible to nobody while it is valid (``hidden_until``: its expiry, moved to the
  moment it is used or replaced). Afterwards its addressee sees that it was sent, but its digits stay masked
  for everyone ("kode verifikasi anda ••••••"), and a text search never matches a code message (the digits
  could otherwise be found by trying substrings).
- **Existence only**, for Admins on the SMS Center status page: the "last errors" list shows every failed
  message, because the operator must see that the gateway failed one; a message the Admin may not read shows
  its kind, status and error only, with its number masked and "(private message)" instead of its text.

Views call ``visible_messages(user, qs)`` to filter and ``prepare(messages, user)`` (or ``display_text`` /
``display_number``) to show. Counts are taken on the filtered queryset, so they never count what is hidden.
"""

import re

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from abah.core.access import is_admin

from . import phone
from .models import Message

PRIVATE_KINDS = (Message.Kind.CODE, Message.Kind.NOTIFICATION)
MASK = "\u2022"
_DIGITS = re.compile(r"\d{4,}")  # a code (6 digits); short numbers ("10 menit") stay


def _readable(user, now) -> Q:
    shared = Q(addressee__isnull=True) & ~Q(kind__in=PRIVATE_KINDS)
    if user is None or not getattr(user, "is_authenticated", False):
        return shared
    own = Q(addressee_id=user.pk) & (Q(hidden_until__isnull=True) | Q(hidden_until__lte=now))
    return shared | own


def visible_messages(user, qs=None, *, text_search: bool = False, existence: bool = False):
    """The messages of ``qs`` (all by default) that ``user`` may see.

    ``text_search``: the queryset answers a text search, so code messages never match.
    ``existence``: the Admin's status page, which lists every message's existence (text and number are masked
    by ``display_text``/``display_number`` where the Admin may not read them)."""
    qs = Message.objects.all() if qs is None else qs
    if existence and user is not None and is_admin(user):
        return qs
    qs = qs.filter(_readable(user, timezone.now()))
    if text_search:
        qs = qs.exclude(kind=Message.Kind.CODE)
    return qs


def can_read(message: Message, user, now=None) -> bool:
    """The same rule as visible_messages, for one message in hand."""
    if message.addressee_id is None:
        return message.kind not in PRIVATE_KINDS
    if user is None or not getattr(user, "is_authenticated", False) or message.addressee_id != user.pk:
        return False
    now = now or timezone.now()
    return message.hidden_until is None or message.hidden_until <= now


def display_text(message: Message, user, now=None) -> str:
    """The text as ``user`` may see it: in clear, a code with its digits masked, or "(private message)"."""
    if not can_read(message, user, now):
        return _("(private message)")
    if message.kind == Message.Kind.CODE:
        return _DIGITS.sub(lambda match: MASK * len(match.group()), message.text)
    return message.text


def display_number(message: Message, user, now=None) -> str:
    """The number in national form, or masked (+62*****0095) where ``user`` may not read the message."""
    if not can_read(message, user, now):
        return phone.mask(message.number)
    return phone.national(message.number) if message.number else ""


def prepare(messages, user):
    """Set ``shown_text``, ``shown_number`` and ``readable`` on each message, for the templates."""
    now = timezone.now()
    for message in messages:
        message.readable = can_read(message, user, now)
        message.shown_text = display_text(message, user, now)
        message.shown_number = display_number(message, user, now)
    return messages
