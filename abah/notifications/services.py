"""Writes for notifications and internal messages, and their delivery to e-mail and SMS.

Other apps call ``notify()``; it never sends anything inside the request. The SMS copy is queued in
the SMS Center's outbox in the same transaction (the database is the outbox); the e-mail copy is sent
by a background task scheduled when the transaction commits. Each (item, channel) has one ``Delivery``
row, claimed atomically before sending, so nothing goes out twice even when a task is retried.
"""

import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from .models import Delivery, InternalMessage, MessageRecipient, Notification

logger = logging.getLogger(__name__)

SMS_TEXT_LIMIT = 300  # two GSM-7 segments; the rest is in the application


# ---------------------------------------------------------------- notifications


def _target_fields(target) -> dict:
    if target is None:
        return {"target_type": None, "target_id": "", "scope": "", "url": ""}
    if target.pk is None:
        raise ValueError("notify(): the target must be saved first")
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
    url = ""
    if hasattr(target, "get_absolute_url"):
        url = target.get_absolute_url() or ""
    return {
        "target_type": content_type,
        "target_id": str(target.pk),
        "scope": f"{content_type.pk}:{target.pk}",
        "url": url[:500],
    }


@transaction.atomic
def notify(*, user, kind: str, text: str, target=None, actor=None, url: str = "") -> Notification:
    """Tell ``user`` that ``kind`` happened on ``target``; merge into their unread notification of the same
    (kind, target) if there is one. New notifications are delivered by e-mail / SMS per the user's choices.
    ``url``: the link when the target has none of its own (or there is no target)."""
    if kind not in Notification.Kind.values:
        raise ValueError(f"notify(): unknown kind {kind!r}")
    text = Truncator(" ".join(str(text).split())).chars(500)
    if not text:
        raise ValueError("notify(): text is required")
    fields = _target_fields(target)
    if url and not fields["url"]:
        fields["url"] = url[:500]
    now = timezone.now()
    existing = _merge(user=user, kind=kind, fields=fields, text=text, actor=actor, now=now)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user=user, kind=kind, text=text, actor=actor, created_at=now, updated_at=now, **fields
            )
    except IntegrityError:
        # Another request created the same unread notification between our read and our insert.
        existing = _merge(user=user, kind=kind, fields=fields, text=text, actor=actor, now=now)
        if existing is None:
            raise
        return existing
    _plan_deliveries(user=user, notification=notification)
    return notification


def _merge(*, user, kind, fields, text, actor, now) -> Notification | None:
    existing = (
        Notification.objects.select_for_update()
        .filter(user=user, kind=kind, scope=fields["scope"], is_read=False)
        .first()
    )
    if existing is None:
        return None
    Notification.objects.filter(pk=existing.pk).update(
        count=F("count") + 1, version=F("version") + 1, text=text, actor=actor, updated_at=now,
        url=fields["url"] or existing.url,
    )
    existing.refresh_from_db()
    return existing


@transaction.atomic
def notifications_mark_read(*, user, ids=None) -> int:
    """Mark the user's unread notifications read (all, or only ``ids``); returns how many changed.

    A read notification leaves the merge scope, so the next event on that object starts a new one."""
    qs = Notification.objects.filter(user=user, is_read=False)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(is_read=True, read_at=timezone.now())


# ---------------------------------------------------------------- internal messages (Perpesanan)


@transaction.atomic
def message_send(*, sender, recipients, subject: str, body: str, parent: InternalMessage | None = None):
    """Send an internal message to one or more users (never to oneself); returns the InternalMessage."""
    subject = " ".join((subject or "").split())
    body = (body or "").strip()
    users = {u.pk: u for u in recipients if u.pk != sender.pk and u.is_active}
    errors = {}
    if not users:
        errors["recipients"] = _("Choose at least one recipient other than yourself.")
    if not subject:
        errors["subject"] = _("Enter a subject.")
    elif len(subject) > 200:
        errors["subject"] = _("The subject may have at most 200 characters.")
    if not body:
        errors["body"] = _("Write a message.")
    elif len(body) > 5000:
        errors["body"] = _("The message may have at most 5000 characters.")
    if errors:
        raise ValidationError(errors)
    message = InternalMessage.objects.create(sender=sender, subject=subject, body=body, parent=parent)
    rows = MessageRecipient.objects.bulk_create(
        [MessageRecipient(message=message, user=user) for user in users.values()]
    )
    for row in rows:
        if row.pk is None:  # backends without RETURNING for bulk_create
            row = MessageRecipient.objects.get(message=message, user=row.user)
        _plan_deliveries(user=users[row.user_id], recipient=row)
    return message


@transaction.atomic
def message_mark_read(*, recipient: MessageRecipient) -> None:
    if recipient.read_at is None:
        MessageRecipient.objects.filter(pk=recipient.pk, read_at__isnull=True).update(read_at=timezone.now())
        recipient.refresh_from_db(fields=["read_at"])


@transaction.atomic
def messages_mark_all_read(*, user) -> int:
    return MessageRecipient.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


# ---------------------------------------------------------------- delivery


def _plan_deliveries(*, user, notification=None, recipient=None) -> list[Delivery]:
    """Create the Delivery rows the user asked for; queue the SMS now (same transaction), the e-mail on commit."""
    if not user.is_active:
        return []
    item = {"notification": notification} if notification is not None else {"recipient": recipient}
    planned = []
    if user.notify_email and user.email:
        delivery = Delivery.objects.create(channel=Delivery.Channel.EMAIL, address=user.email, **item)
        planned.append(delivery)
        transaction.on_commit(lambda pk=delivery.pk: _enqueue_email(pk))
    if user.notify_sms and user.phone_verified:
        delivery = Delivery.objects.create(channel=Delivery.Channel.SMS, address=user.phone, **item)
        planned.append(delivery)
        delivery_send_sms(delivery_id=delivery.pk)
    return planned


def _enqueue_email(delivery_id: int) -> None:
    from .tasks import send_delivery_email

    send_delivery_email.enqueue(delivery_id)


def _claim(delivery_id: int, channel: str) -> Delivery | None:
    """PENDING → SENDING in one conditional UPDATE: only one caller ever wins a delivery."""
    claimed = Delivery.objects.filter(pk=delivery_id, channel=channel, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now()
    )
    if not claimed:
        return None
    return Delivery.objects.select_related(
        "notification__user", "recipient__user", "recipient__message__sender"
    ).get(pk=delivery_id)


def _finish(delivery: Delivery, status: str, error: str = "", **extra) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, error=error[:255], sent_at=timezone.now() if status == Delivery.Status.SENT else None, **extra
    )


def _sms_text(delivery: Delivery) -> str:
    site = settings.SITE_NAME
    if delivery.notification_id:
        text = f"{site}: {delivery.notification.text}"
    else:
        message = delivery.recipient.message
        text = _("%(site)s: new message from %(sender)s: %(subject)s") % {
            "site": site, "sender": message.sender, "subject": message.subject,
        }
    return Truncator(text).chars(SMS_TEXT_LIMIT)


def delivery_send_sms(*, delivery_id: int) -> str:
    """Queue the SMS copy in the SMS Center (kind NOTIFICATION); returns the delivery's final status."""
    from abah.sms.models import Message
    from abah.sms.services import queue_message

    with transaction.atomic():
        delivery = _claim(delivery_id, Delivery.Channel.SMS)
        if delivery is None:
            return "skipped"
        owner = delivery.notification.user if delivery.notification_id else delivery.recipient.user
        if not owner.phone_verified:
            _finish(delivery, Delivery.Status.SKIPPED, "no verified phone number")
            return Delivery.Status.SKIPPED
        item = f"notif-{delivery.notification_id}" if delivery.notification_id else f"pesan-{delivery.recipient_id}"
        version = delivery.notification.version if delivery.notification_id else 1
        with translation.override(settings.LANGUAGE_CODE):
            text = _sms_text(delivery)
        try:
            with transaction.atomic():
                sms = queue_message(
                    to=owner.phone, text=text, kind=Message.Kind.NOTIFICATION,
                    idempotency_key=f"{item}-sms-v{version}", meta={"delivery": delivery.pk, "to_user": owner.pk},
                )
                # A copy of a personal notification or internal message: only its owner may read it in the
                # SMS Center (abah.sms.access).
                Message.objects.filter(pk=sms.pk, addressee__isnull=True).update(addressee=owner)
        except ValidationError as error:
            _finish(delivery, Delivery.Status.FAILED, "; ".join(error.messages))
            return Delivery.Status.FAILED
        _finish(delivery, Delivery.Status.SENT, sms_message_id=sms.pk)
        return Delivery.Status.SENT


def _email_content(delivery: Delivery) -> tuple[str, str]:
    site = settings.SITE_NAME
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    if delivery.notification_id:
        notification = delivery.notification
        subject = f"[{site}] {Truncator(notification.text).chars(120)}"
        lines = [notification.text]
        if notification.count > 1:
            lines.append(_("(%(count)s events)") % {"count": notification.count})
        if notification.url and base:
            lines.append(base + notification.url)
    else:
        message = delivery.recipient.message
        subject = f"[{site}] {message.subject}"
        lines = [_("From: %(sender)s") % {"sender": message.sender}, "", message.body]
    lines += ["", "--", _("This e-mail was sent by %(site)s because you chose to receive notifications by e-mail.")
              % {"site": site}]
    return " ".join(subject.split()), "\n".join(lines)


def delivery_send_email(*, delivery_id: int) -> str:
    """Send the e-mail copy (run by the background task); returns the delivery's final status."""
    delivery = _claim(delivery_id, Delivery.Channel.EMAIL)
    if delivery is None:
        return "skipped"
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = _email_content(delivery)
    email = mail.EmailMessage(subject=subject, body=body, to=[delivery.address])
    try:
        mail.mailers.default.send_messages([email])
    except Exception as error:  # noqa: BLE001 — any transport error: record it, never send twice
        logger.warning("notification e-mail %s failed: %s", delivery.pk, error)
        _finish(delivery, Delivery.Status.FAILED, f"{type(error).__name__}: {error}")
        return Delivery.Status.FAILED
    _finish(delivery, Delivery.Status.SENT)
    return Delivery.Status.SENT
