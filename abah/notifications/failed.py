"""Who hears of a text that failed for good (Message.Status.FAILED: refused by the gateway or the operator, or out
of attempts, a dead worker's lease included), and which failed texts are a user's concern.

The worker runs ``sweep()`` next to the expiry of unreported texts (abah.sms.daemon, about once a minute), never
per message: it picks the failed messages this app has not dealt with yet (no ``MessageFailure`` row), tells the
people responsible through ``unreported.tell`` (the same people and the same bundling as for a missing delivery
report: one notification per user for the whole sweep, naming up to three institutions and "dan N lainnya"),
and writes the rows in the same transaction as the notifications. A worker that dies in between leaves neither,
so the next sweep tells them: nothing is lost and nobody is told twice. Several workers may sweep at once: the
messages are locked with ``SKIP LOCKED`` on PostgreSQL (SQLite serialises writers) and the rows are re-read after
the lock, so each failure is told by exactly one of them.

The list of failed texts ("Pesan gagal") shows a user the failed texts they are responsible for: their own typed
texts, those addressed to them, and the automatic texts to the parties an app makes them responsible for
(``register_scope``: the grants app names the institutions of the user's grants); an Admin sees every failed
text. Privacy stays with abah.sms.access.visible_messages.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from abah.core.access import is_admin
from abah.sms.access import visible_messages
from abah.sms.dbutil import any_chunk
from abah.sms.models import Message

from .models import MessageFailure, Notification
from .unreported import SILENT_KINDS, names, party, tell, when

log = logging.getLogger(__name__)

BATCH = 1000  # failed messages per transaction of the sweep
MAX_BATCHES = 20  # per sweep: a flood is told in several sweeps (the unread notification is merged)

# fn(user) -> Q over Message: the failed texts an app makes ``user`` responsible for (beyond their own).
Scope = Callable[[object], Q]
_scopes: list[Scope] = []


def register_scope(fn: Scope) -> None:
    """Called from an app's ready(): which texts to its parties the user answers for (the list, the count)."""
    if fn not in _scopes:
        _scopes.append(fn)


def _untold():
    """Failed messages without a record, along the ``sms_msg_status`` index (status, id) against the record's
    primary key: with nothing to tell it reads the index only, however many failures are on record. A failed
    message is always outgoing; codes and copies get their record too (telling nobody), so they drop out."""
    return Message.objects.filter(status=Message.Status.FAILED).filter(
        ~Exists(MessageFailure.objects.filter(message_id=OuterRef("pk"))))


def text_for(messages: list[Message]) -> str:
    """What happened, in words (in the active language)."""
    first = messages[0]
    if len(messages) == 1:
        return _("The SMS to %(to)s sent %(when)s was not delivered. Fix the number and resend it from the list of "
                 "failed texts.") % {"to": party(first), "when": when(first.failed_at or first.created_at)}
    failed = sorted(m.failed_at or m.created_at for m in messages)
    return _("%(count)s SMS to %(to)s were not delivered (%(first)s to %(last)s). Fix the numbers and resend them "
             "from the list of failed texts.") % {"count": len(messages), "to": names(messages),
                                                  "first": when(failed[0]), "last": when(failed[-1])}


def link_for(messages: list[Message]) -> tuple[object, str]:
    return None, reverse("notifications:failed_list")


def _tell_batch(candidates: list[int], now: datetime) -> int:
    skip = {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}
    with transaction.atomic():
        # Lock what is still failed and not taken by another worker; then drop what another worker told meanwhile
        # (a new statement: it sees their committed rows).
        ids = list(
            Message.objects.filter(id__any=candidates, status=Message.Status.FAILED).order_by("id")
            .select_for_update(**skip).values_list("id", flat=True)
        )
        if ids:
            done = set(MessageFailure.objects.filter(message_id__any=ids).values_list("message_id", flat=True))
            ids = [pk for pk in ids if pk not in done]
        if not ids:
            return 0
        messages = list(Message.objects.filter(id__any=ids).exclude(kind__in=SILENT_KINDS)
                        .filter(direction=Message.Direction.OUT).select_related("conversation", "sender"))
        if messages:
            tell(messages, kind=Notification.Kind.MESSAGE_FAILED, text_for=text_for, link_for=link_for)
        MessageFailure.objects.bulk_create([MessageFailure(message_id=pk, told_at=now) for pk in ids])
    return len(ids)


def sweep(*, now: datetime | None = None) -> int:
    """Tell the people responsible of the failed texts not recorded yet; returns how many were recorded (codes and
    copies included, which tell nobody). With nothing to do it is one index-only read."""
    now = now or timezone.now()
    step = min(BATCH, any_chunk())
    told = 0
    for _batch in range(MAX_BATCHES):
        # Ordered along the (status, id) index, so PostgreSQL reads it alone rather than the primary key.
        candidates = list(_untold().order_by("status", "id").values_list("id", flat=True)[:step])
        if not candidates:
            break
        told += _tell_batch(candidates, now)
        if len(candidates) < step:
            break
    if told:
        log.info("%d failed message(s) recorded, the staff responsible told", told)
    return told


# ---------------------------------------------------------------- the user's failed texts


def responsible_q(user) -> Q:
    """The texts ``user`` answers for: typed by them, addressed to them, or to a party an app gives them."""
    q = Q(sender_id=user.pk) | Q(addressee_id=user.pk)
    for fn in _scopes:
        q |= fn(user)
    return q


def failed_for(user):
    """The failed outgoing texts ``user`` may see and answers for (an Admin: every one they may see), newest
    first; each with ``resent_id`` (the new message when a clerk resent it, else None)."""
    from django.db.models import Subquery

    qs = Message.objects.filter(status=Message.Status.FAILED, direction=Message.Direction.OUT)
    if not is_admin(user):
        qs = qs.filter(responsible_q(user))
    qs = visible_messages(user, qs)
    resent = MessageFailure.objects.filter(message_id=OuterRef("pk")).values("resent_id")[:1]
    return qs.annotate(resent_id=Subquery(resent))


def failed_count(user) -> int:
    """Failed texts of the user's not resent yet (the dashboard's "Pesan gagal")."""
    return failed_for(user).filter(resent_id__isnull=True).count()
