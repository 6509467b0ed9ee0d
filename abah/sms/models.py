"""Messages, their parts at the gateway, conversations, worker heartbeats and the simulator's SMSC state."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    """A thread with one party (an institution, a user …), identified by (party_type, party_id).

    The sms app does not know what a party is: other apps create threads with
    ``services.conversation_for`` and route inbound numbers to them (``routing``).
    """

    party_type = models.CharField(_("party type"), max_length=64)
    party_id = models.CharField(_("party id"), max_length=64)
    title = models.CharField(_("title"), max_length=255)
    number = models.CharField(_("number"), max_length=20, blank=True, db_index=True)  # current E.164
    message_count = models.PositiveIntegerField(default=0)
    inbound_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [models.UniqueConstraint(fields=["party_type", "party_id"], name="sms_conversation_party")]

    def __str__(self):
        return self.title


class MessageQuerySet(models.QuerySet):
    def outbound(self):
        return self.filter(direction=Message.Direction.OUT)

    def inbound(self):
        return self.filter(direction=Message.Direction.IN)

    def pending(self):
        """Outgoing messages whose fate is not known yet (no mark in the UI)."""
        return self.filter(status__in=Message.PENDING_STATUSES)


class Message(models.Model):
    """One SMS, outgoing or incoming. The database is the outbox: a row is queued in the same
    transaction as the action that causes it, and the worker (``manage.py smsd``) sends it.

    Lifecycle of an outgoing message::

        QUEUED ──claim──> SENDING ──gateway accepts──> SENT ──all parts delivered──> DELIVERED
          ^                  │  │                          └──any part failed──────> FAILED
          │  temporary error │  └──permanent error / too many attempts────────────> FAILED
          └──(backoff)───────┘
          └──lease expired (worker died): back to QUEUED, attempt counted
        QUEUED ──withdrawn (broadcast)──> CANCELLED

    A multi-part message is DELIVERED only when every part is; the worst part decides.
    Incoming messages are created RECEIVED.
    """

    class Direction(models.TextChoices):
        OUT = "out", _("Outgoing")
        IN = "in", _("Incoming")

    class Kind(models.TextChoices):
        CODE = "code", _("Verification code")
        INVITATION = "invitation", _("NPHD invitation")
        DISBURSEMENT = "disbursement", _("Disbursement")
        BILLING = "billing", _("Billing")
        MANUAL = "manual", _("Typed message")
        BROADCAST = "broadcast", _("Broadcast")
        NOTIFICATION = "notification", _("Notification")
        REPLY = "reply", _("Reply")  # incoming

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")  # waiting for a worker (maybe until next_attempt_at)
        SENDING = "sending", _("Sending")  # claimed by a worker, lease until lease_until
        SENT = "sent", _("Sent")  # accepted by the gateway, waiting for delivery reports
        DELIVERED = "delivered", _("Delivered")  # every part reported delivered
        FAILED = "failed", _("Failed")  # permanent error, undeliverable, or out of attempts
        CANCELLED = "cancelled", _("Cancelled")  # withdrawn before sending
        RECEIVED = "received", _("Received")  # incoming
        # Accepted by a gateway, and no final report came within SMS_REPORT_EXPIRY_HOURS: the gateway will most
        # likely never say. A late receipt still moves it to DELIVERED or FAILED.
        NO_REPORT = "no_report", _("No report")

    PENDING_STATUSES = (Status.QUEUED, Status.SENDING, Status.SENT)
    FINAL_STATUSES = (Status.DELIVERED, Status.FAILED, Status.CANCELLED, Status.RECEIVED, Status.NO_REPORT)
    # Accepted by a gateway and not settled by a receipt: a receipt for one of its parts may still settle it.
    SETTLEABLE_STATUSES = (Status.SENT, Status.NO_REPORT)

    # Higher runs first: codes, then what a person typed, then automatic texts, broadcasts last.
    PRIORITY_BY_KIND = {
        Kind.CODE: 90,
        Kind.MANUAL: 70,
        Kind.INVITATION: 50,
        Kind.DISBURSEMENT: 50,
        Kind.BILLING: 50,
        Kind.NOTIFICATION: 50,
        Kind.BROADCAST: 10,
        Kind.REPLY: 0,
    }

    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, default=Direction.OUT)
    number = models.CharField(_("number"), max_length=20)  # E.164 of the other party
    text = models.TextField(_("text"))
    encoding = models.CharField(_("encoding"), max_length=5, default="GSM-7")
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    priority = models.SmallIntegerField(_("priority"), default=50)
    idempotency_key = models.CharField(max_length=191, null=True, blank=True, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    meta = models.JSONField(default=dict, blank=True)
    # Who the message is addressed to, when that is one staff member (a verification code, a notification or
    # internal-message copy): only that person may read it (abah.sms.access). Set by the callers that queue it.
    addressee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("addressee"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # Nobody sees the message before this time, not even its addressee (a verification code while it is valid).
    hidden_until = models.DateTimeField(null=True, blank=True)

    # Worker bookkeeping.
    next_attempt_at = models.DateTimeField(default=timezone.now)  # send_after, then the retry time
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=64, blank=True)
    gateway = models.CharField(_("gateway"), max_length=32, blank=True)
    error_code = models.CharField(_("error code"), max_length=32, blank=True)
    error_reason = models.CharField(_("reason"), max_length=255, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            # The claim query: due queued messages, most urgent first. Partial, so it stays small
            # however many millions of sent messages the table holds.
            models.Index(
                fields=["-priority", "next_attempt_at", "id"], name="sms_msg_claim", condition=Q(status="queued")
            ),
            # Lease recovery: SENDING rows whose worker died.
            models.Index(fields=["lease_until"], name="sms_msg_lease", condition=Q(status="sending")),
            # The Pesan dialog loads one thread in order.
            models.Index(fields=["conversation", "id"], name="sms_msg_thread"),
            # Routing and number search; unknown senders (no thread) by number.
            models.Index(fields=["number", "id"], name="sms_msg_number"),
            models.Index(fields=["status", "id"], name="sms_msg_status"),
            models.Index(fields=["created_at"], name="sms_msg_created"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.number}: {self.text[:40]}"

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING_STATUSES

    @property
    def is_system(self) -> bool:
        return self.direction == self.Direction.OUT and self.sender_id is None


class MessagePart(models.Model):
    """One segment of a sent message as the gateway knows it: its message id and its delivery status."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="parts")
    seq = models.PositiveSmallIntegerField()
    gateway = models.CharField(max_length=32)
    gateway_message_id = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    error_code = models.CharField(max_length=32, blank=True)
    error_reason = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Not unique: an SMSC that restarts may count its message ids from 1 again. The newest part with an id
        # owns it from then on (receipts are matched to it); the older one is settled by expiry.
        indexes = [models.Index(fields=["gateway", "gateway_message_id"], name="sms_part_gateway_id")]

    def __str__(self):
        return f"{self.message_id}/{self.seq} {self.gateway}:{self.gateway_message_id}"


class CallbackEvent(models.Model):
    """A delivery report or an inbound SMS that an HTTP gateway pushed to our callback URL (sms.callbacks):
    stored as it came, already read into our fields, and acknowledged at once; the gateway's worker applies it
    (backends.http.HttpBackend.poll) and deletes it once that is committed. Applying is idempotent (a report
    twice changes nothing; an inbound SMS is stored once by its id), so a provider that repeats a callback, or
    two workers that read the same row, do no harm."""

    class Kind(models.TextChoices):
        REPORT = "report", "report"
        INBOUND = "inbound", "inbound"

    gateway = models.CharField(max_length=32)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    gateway_message_id = models.CharField(max_length=150)
    delivered = models.BooleanField(default=False)
    error_code = models.CharField(max_length=32, blank=True)
    error_reason = models.CharField(max_length=255, blank=True)
    number = models.CharField(max_length=32, blank=True)
    text = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["gateway", "id"], name="sms_callback_gateway")]

    def __str__(self):
        return f"{self.gateway}:{self.kind}:{self.gateway_message_id}"


class UnmatchedReport(models.Model):
    """A delivery report that arrived before its part was recorded (another worker is still between the
    gateway's answer and its commit). The daemon retries these until the part appears."""

    gateway = models.CharField(max_length=32)
    gateway_message_id = models.CharField(max_length=64)
    delivered = models.BooleanField()
    error_code = models.CharField(max_length=32, blank=True)
    error_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["gateway", "gateway_message_id"], name="sms_unmatched_gid")]

    def __str__(self):
        return f"{self.gateway}:{self.gateway_message_id}"


class WorkerHeartbeat(models.Model):
    """Written by each running ``smsd`` every few seconds; the status page reads it."""

    worker = models.CharField(max_length=64, unique=True)
    gateway = models.CharField(max_length=32)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()
    state = models.CharField(max_length=16, default="running")  # running / stopped
    gateway_ok = models.BooleanField(default=True)
    gateway_error = models.CharField(max_length=255, blank=True)
    sent = models.PositiveBigIntegerField(default=0)
    # The last fault the worker survived (database away, a message it had to set aside …), in words.
    last_error = models.CharField(max_length=255, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.worker} ({self.state})"


class ServiceProcess(models.Model):
    """A process ``manage.py serve`` supervises (web, tasks, smsd-<gateway>) on one machine: how often it had
    to be restarted and why, for the status page."""

    name = models.CharField(max_length=64)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, default="running")  # running / restarting / stopped
    started_at = models.DateTimeField(default=timezone.now)
    restarts = models.PositiveIntegerField(default=0)
    last_exit_code = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hostname", "name"], name="sms_service_process")]

    def __str__(self):
        return f"{self.name}@{self.hostname} ({self.state}, {self.restarts} restarts)"


# ---------------------------------------------------------------- simulator SMSC state
# The simulator is a fake operator SMSC. Its state lives in its own tables, apart from our messages:
# the worker talks to it only through the backend interface, exactly as it would to a real one.


class SimulatorDelivery(models.Model):
    """A segment the simulated SMSC accepted, with the delivery report it will give at due_at."""

    gateway_message_id = models.CharField(max_length=64, unique=True)
    client_ref = models.CharField(max_length=64, db_index=True)  # our message id, as a real client would pass
    seq = models.PositiveSmallIntegerField(default=1)
    total = models.PositiveSmallIntegerField(default=1)
    number = models.CharField(max_length=20)
    text = models.TextField()
    accepted_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    delivered = models.BooleanField(default=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_reason = models.CharField(max_length=255, blank=True)
    reported = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="sms_sim_due", condition=Q(reported=False)),
            models.Index(fields=["number", "id"], name="sms_sim_number"),
        ]

    def __str__(self):
        return f"{self.number} {self.seq}/{self.total}"


class SimulatorInbound(models.Model):
    """A message typed on a virtual phone, waiting for the worker to pick it up as an inbound SMS."""

    gateway_message_id = models.CharField(max_length=64, unique=True)
    number = models.CharField(max_length=20)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    picked_up = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="sms_sim_inbox", condition=Q(picked_up=False))]

    def __str__(self):
        return f"{self.number}: {self.text[:40]}"


class SendWindowSetting(models.Model):
    """The send window the Admin set on "Pengaturan SMS" (one row); without it the environment's defaults apply
    (abah/sms/conf.py: SMS_SEND_WINDOW, SMS_SEND_DAYS, SMS_SEND_HOLIDAYS, SMS_SEND_WINDOW_EXEMPT_KINDS)."""

    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))  # exclusive; 23:59:59.999999 stands for 24:00
    days = models.CharField(_("days"), max_length=20, default="1,2,3,4,5,6,7")  # ISO weekdays, 1 = Monday
    exempt_kinds = models.CharField(_("kinds sent at any time"), max_length=200, blank=True, default="code,manual")
    national_holidays = models.BooleanField(_("national holidays"), default=True)
    # Further days off, one a line: "2026-12-24 Cuti bersama Natal" (the name is optional).
    holidays = models.TextField(_("other days off"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("send window")
        verbose_name_plural = _("send window")

    def __str__(self):
        return f"{self.start:%H:%M}-{self.end:%H:%M} days {self.days}"
