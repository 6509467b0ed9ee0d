"""Data retention (UU 27/2022 PDP): what is kept how long, and the purge that ``manage.py retention`` runs daily.

Periods come from the environment through config/settings.py (0 keeps that kind forever):

- ``ABAH_RETENTION_MESSAGE_YEARS`` (5): SMS older than this keep their row (status, times, counts) but their
  text becomes "[dihapus: masa simpan habis]" and their number is masked (+62*****0095); the search index
  follows through its triggers. Messages still queued or being sent are left alone.
- ``ABAH_RETENTION_AUDIT_YEARS`` (5): audit entries older than this are deleted.
- ``ABAH_RETENTION_NOTIFICATION_DAYS`` (365): in-app notifications (and their e-mail/SMS delivery records)
  not updated for this long are deleted.
- ``ABAH_RETENTION_CODE_DAYS`` (30): phone verification codes (number and code hash) older than this are deleted.
- Import files staged and never confirmed: ``abah.grants.imports.purge_staging()`` when it exists.

Every pass writes one audit entry "retention" with what it removed.
"""

import datetime
import importlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import services
from .models import AuditEntry

log = logging.getLogger("abah.audit.retention")

PURGED_TEXT = "[dihapus: masa simpan habis]"
BATCH = 1000
KINDS = ("messages", "audit", "notifications", "codes", "staging")


def years_before(now: datetime.datetime, years: int) -> datetime.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def _setting(name: str, default: int) -> int:
    return max(0, int(getattr(settings, name, default)))


def purge_messages(cutoff: datetime.datetime) -> int:
    from abah.sms.models import Message
    from abah.sms.phone import mask

    Status = Message.Status
    old = (Message.objects.filter(created_at__lt=cutoff).exclude(text=PURGED_TEXT)
           .exclude(status__in=[Status.QUEUED, Status.SENDING]))
    done = 0
    last = 0
    while True:  # bounded: each batch moves ``last`` past its ids
        batch = list(old.filter(pk__gt=last).order_by("pk").values_list("pk", "number")[:BATCH])
        if not batch:
            return done
        by_number: dict[str, list[int]] = {}
        for pk, number in batch:
            by_number.setdefault(mask(number)[:20] if number else "", []).append(pk)
        with transaction.atomic():
            for masked, ids in by_number.items():
                done += Message.objects.filter(pk__in=ids).update(text=PURGED_TEXT, number=masked)
        last = batch[-1][0]


def purge_audit(cutoff: datetime.datetime) -> int:
    return AuditEntry.objects.purge_before(cutoff)


def purge_notifications(cutoff: datetime.datetime) -> int:
    from abah.notifications.models import Notification

    deleted, _ = Notification.objects.filter(updated_at__lt=cutoff).delete()
    return deleted


def purge_codes(cutoff: datetime.datetime) -> int:
    from abah.verification.models import VerificationCode

    deleted, _ = VerificationCode.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def purge_staging() -> int:
    try:
        imports = importlib.import_module("abah.grants.imports")
    except ImportError:
        return 0
    purge = getattr(imports, "purge_staging", None)
    if purge is None:
        return 0
    result = purge()
    return result if isinstance(result, int) else len(result) if isinstance(result, (list, tuple)) else 0


def run(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """One pass; returns what was removed per kind (also logged and written to the audit log)."""
    now = now or timezone.now()
    message_years = _setting("ABAH_RETENTION_MESSAGE_YEARS", 5)
    audit_years = _setting("ABAH_RETENTION_AUDIT_YEARS", 5)
    notification_days = _setting("ABAH_RETENTION_NOTIFICATION_DAYS", 365)
    code_days = _setting("ABAH_RETENTION_CODE_DAYS", 30)
    counts = dict.fromkeys(KINDS, 0)
    if message_years:
        counts["messages"] = purge_messages(years_before(now, message_years))
    if audit_years:
        counts["audit"] = purge_audit(years_before(now, audit_years))
    if notification_days:
        counts["notifications"] = purge_notifications(now - datetime.timedelta(days=notification_days))
    if code_days:
        counts["codes"] = purge_codes(now - datetime.timedelta(days=code_days))
    try:
        counts["staging"] = purge_staging()
    except Exception:  # a staging folder that cannot be cleaned must not stop the rest
        log.exception("retention: purging staged imports failed")
    detail = ", ".join(f"{kind}={counts[kind]}" for kind in KINDS)
    log.info("retention: %s", detail)
    services.record(None, services.Action.RETENTION, detail=detail, count=sum(counts.values()), at=now)
    return counts
