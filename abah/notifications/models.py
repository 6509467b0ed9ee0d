"""In-app notifications, internal messages (Perpesanan) and their delivery records (e-mail, SMS)."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """Something that happened to an object a user works on (an institution, a grant, an invitation …).

    Several events of the same kind on the same object are merged while the notification is unread:
    ``count`` grows, ``text`` and ``updated_at`` follow the latest event, ``version`` is bumped. The
    partial unique constraint ``notifications_unread_scope`` guarantees one unread copy per scope.

    Lifecycle: unread ──opened / "mark all read"──> read (a new event then starts a new notification)
    """

    class Kind(models.TextChoices):
        CONTACT_CHANGED = "contact_changed", _("Contact changed")
        INVITATION_CREATED = "invitation_created", _("NPHD invitation made")
        INVITATION_PROCESSED = "invitation_processed", _("NPHD invitation processed")
        INVITATION_CANCELLED = "invitation_cancelled", _("NPHD invitation cancelled")
        INVITATION_RESENT = "invitation_resent", _("NPHD invitation resent")
        MESSAGE_SENT = "message_sent", _("Message sent")
        REPLY_RECEIVED = "reply_received", _("Reply received")
        MESSAGE_FAILED = "message_failed", _("Message not delivered")
        MESSAGE_UNREPORTED = "message_unreported", _("No delivery report")
        DISBURSEMENT_RECORDED = "disbursement_recorded", _("Disbursement recorded")
        BILLING_SENT = "billing_sent", _("Billing sent")
        NOTE_ADDED = "note_added", _("Note added")
        GRANT_CHANGED = "grant_changed", _("Grant changed")
        BROADCAST_SENT = "broadcast_sent", _("Broadcast sent")
        ACCOUNT = "account", _("Account")
        OTHER = "other", _("Other")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    target_id = models.CharField(max_length=64, blank=True, default="")
    # "<content type id>:<object id>" or "" — what merging compares (never NULL, so it works everywhere).
    scope = models.CharField(max_length=100, blank=True, default="")
    url = models.CharField(_("link"), max_length=500, blank=True, default="")
    text = models.CharField(_("text"), max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    count = models.PositiveIntegerField(_("events"), default=1)
    version = models.PositiveIntegerField(default=1)  # bumped on every merge
    is_read = models.BooleanField(_("read"), default=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "scope"], condition=Q(is_read=False), name="notifications_unread_scope"
            )
        ]
        indexes = [
            # The navbar bell: the unread count and the latest few, for one user.
            models.Index(fields=["user", "is_read", "-updated_at"], name="notif_user_unread"),
            models.Index(fields=["user", "-updated_at", "-id"], name="notif_user_latest"),
        ]

    def __str__(self):
        return self.text


class InternalMessage(models.Model):
    """A message from one user to one or more users (Perpesanan); one ``MessageRecipient`` per addressee."""

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), on_delete=models.CASCADE, related_name="sent_messages"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), max_length=5000)
    parent = models.ForeignKey(
        "self", verbose_name=_("in reply to"), null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("internal message")
        verbose_name_plural = _("internal messages")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sender", "-created_at"], name="notif_msg_sender")]

    def __str__(self):
        return self.subject

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("notifications:message_detail", args=[self.pk])


class MessageRecipient(models.Model):
    """One addressee of an internal message and whether they have read it."""

    message = models.ForeignKey(InternalMessage, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.CASCADE, related_name="inbox"
    )
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["-message__created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="notif_recipient_once")]
        indexes = [
            # The navbar envelope: unread count and latest few, for one user.
            models.Index(fields=["user", "read_at", "-message"], name="notif_inbox_unread"),
            models.Index(fields=["user", "-message"], name="notif_inbox_latest"),
        ]

    def __str__(self):
        return f"{self.message} → {self.user}"


class Delivery(models.Model):
    """One send of a notification or of an internal message to one channel (e-mail or SMS).

    Unique per (item, channel), so a notification or a message goes to each channel at most once.
    The task that sends it first claims the row (PENDING → SENDING in one conditional UPDATE); a
    retried or duplicated task finds nothing to claim and does nothing.

        PENDING ──claim──> SENDING ──sent──> SENT
                                   └─error─> FAILED (reason kept; not retried, to never send twice)
        PENDING ──no address any more──> SKIPPED
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        MessageRecipient, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    address = models.CharField(_("address"), max_length=254, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    sms_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], condition=Q(notification__isnull=False),
                name="notif_delivery_once",
            ),
            models.UniqueConstraint(
                fields=["recipient", "channel"], condition=Q(recipient__isnull=False),
                name="notif_msg_delivery_once",
            ),
            models.CheckConstraint(
                condition=Q(notification__isnull=False, recipient__isnull=True)
                | Q(notification__isnull=True, recipient__isnull=False),
                name="notif_delivery_one_item",
            ),
        ]

    def __str__(self):
        return f"{self.channel} {self.status}"


class MessageFailure(models.Model):
    """A permanently failed outgoing SMS this app has dealt with (abah.notifications.failed).

    The row exists once the staff responsible were told (``told_at``, written in the same transaction as their
    notification, so a crash loses nothing and tells nobody twice) or once a clerk resent the text from the list
    of failed texts (``resent``: the new message; the failed one stays failed and shows "dikirim ulang"). The
    sweep picks failed messages without a row.
    """

    message = models.OneToOneField("sms.Message", primary_key=True, on_delete=models.CASCADE,
                                   related_name="failure_record")
    told_at = models.DateTimeField(_("told at"), null=True, blank=True)
    resent = models.ForeignKey("sms.Message", verbose_name=_("resent as"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    resent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("resent by"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    resent_at = models.DateTimeField(_("resent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("failed message")
        verbose_name_plural = _("failed messages")

    def __str__(self):
        return f"failure of message {self.message_id}"
