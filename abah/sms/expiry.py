"""Expiry: a text the gateway accepted but never reported on does not stay "sent" for ever.

Some gateways (a modem that reports nothing, an SMSC that lost its receipts, Gammu's ``DeliveryUnknown``) never
give a final delivery report. After SMS_REPORT_EXPIRY_HOURS (default 48) such a message becomes NO_REPORT
("Tidak ada laporan"): the clerk sees its own mark instead of "no mark" (which the manual says means "not
processed yet"), and the staff member responsible is notified through the ``messages_unreported`` signal.
Its parts stay "sent", so a receipt that still comes is matched and settles the message (a late receipt wins).

The worker calls ``expire_unreported()`` about once a minute. With nothing to do it is one indexed read (the
``sms_msg_status`` index on (status, id)), without a transaction or a lock. Several workers may run it at once:
rows are taken with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's IMMEDIATE transactions
serialise writers) and moved by a conditional UPDATE (``status = 'sent'``), so each message is moved, and
announced, by exactly one of them.
"""

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation

from . import conf
from .errors import NO_REPORT, no_report_reason
from .models import Message
from .services import emit_status_changes
from .signals import messages_unreported

log = logging.getLogger("abah.sms.expiry")


def _expired(cutoff: datetime):
    """Outgoing SENT messages accepted before ``cutoff`` (a row without sent_at counts from its creation)."""
    return Message.objects.filter(
        Q(sent_at__lt=cutoff) | Q(sent_at__isnull=True, created_at__lt=cutoff),
        status=Message.Status.SENT, direction=Message.Direction.OUT,
    )


def expire_unreported(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Move up to ``limit`` SENT messages older than the configured expiry to NO_REPORT; returns how many moved.

    After commit, ``messages_unreported`` is sent once with the ids this call moved (none: no signal).
    """
    now = now or timezone.now()
    hours = conf.report_expiry_hours()
    cutoff = now - timedelta(hours=hours)
    # Unlocked probe, oldest first along (status, id): nothing to do costs one read and no write lock.
    candidates = list(_expired(cutoff).order_by("id").values_list("id", flat=True)[:limit])
    if not candidates:
        return 0
    with translation.override("en"):  # stored in English, translated when shown (errors.reason_text)
        reason = no_report_reason(hours)
    skip = {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}
    with transaction.atomic():
        # Lock what is still SENT and not taken by another worker; a row another worker moved meanwhile no longer
        # matches (PostgreSQL re-checks the condition on the locked row), one it is moving is skipped.
        ids = list(
            _expired(cutoff).filter(id__any=candidates).order_by("id").select_for_update(**skip)
            .values_list("id", flat=True)
        )
        if not ids:
            return 0
        Message.objects.filter(id__any=ids, status=Message.Status.SENT).update(
            status=Message.Status.NO_REPORT, error_code=NO_REPORT, error_reason=reason[:255]
        )
        emit_status_changes([(pk, Message.Status.SENT, Message.Status.NO_REPORT) for pk in ids])
        transaction.on_commit(lambda: _announce(ids))
    log.info("%d sent message(s) had no delivery report after %g hours: marked 'no report'", len(ids), hours)
    return len(ids)


def _announce(ids: list[int]) -> None:
    """Tell the apps that stand on the SMS Center; a receiver's error is logged, never the worker's end."""
    for receiver, result in messages_unreported.send_robust(sender=Message, message_ids=list(ids)):
        if isinstance(result, Exception):
            log.error("messages_unreported receiver %r failed on %d message(s)", receiver, len(ids),
                      exc_info=(type(result), result, result.__traceback__))
