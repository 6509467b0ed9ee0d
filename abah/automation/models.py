"""Editable SMS templates (versioned), LPJ reminder pauses and broadcasts."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TemplateKind(models.TextChoices):
    INVITATION = "invitation", _("NPHD invitation")
    INVITATION_CANCELLED = "invitation_cancelled", _("NPHD invitation cancelled")
    DISBURSEMENT = "disbursement", _("Disbursement notice")
    LPJ_BILLING = "lpj_billing", _("LPJ billing")
    LPJ_OVERDUE = "lpj_overdue", _("LPJ overdue")
    REVISION = "revision", _("Revision needed")
    INCIDENTAL = "incidental", _("Incidental message")


class SmsTemplate(models.Model):
    """One editable text per kind; ``current`` points at the version in use (edits add versions)."""

    kind = models.CharField(_("kind"), max_length=32, choices=TemplateKind.choices, unique=True)
    current = models.ForeignKey("SmsTemplateVersion", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("current version"))
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")
        ordering = ["kind"]

    def __str__(self):
        return self.get_kind_display()


class SmsTemplateVersion(models.Model):
    """An immutable text of a template. Every queued message records the version it was rendered from
    (``Message.meta["template_version"]``), so the text a message came from is always known."""

    template = models.ForeignKey(SmsTemplate, on_delete=models.CASCADE, related_name="versions",
                                 verbose_name=_("template"))
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    # None: follow settings.ABAH_SMS_MONEY_LEGACY; True: "Rp. 400.000.000,00"; False: "Rp400.000.000,00".
    legacy_money = models.BooleanField(_("legacy money style (Rp. )"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="automation_tplversion_number")]

    def __str__(self):
        return f"{self.template.kind} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None and SmsTemplateVersion.objects.filter(pk=self.pk).exists():
            raise ValidationError(_("A template version cannot be changed; save a new version instead."))
        super().save(*args, **kwargs)


class ReminderPause(models.Model):
    """LPJ reminders of a grant are paused while this row exists (the petugas's switch on the grant page)."""

    grant = models.OneToOneField("grants.Grant", on_delete=models.CASCADE, related_name="lpj_reminder_pause",
                                 verbose_name=_("grant"))
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("paused by"))
    paused_at = models.DateTimeField(_("paused at"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder pause")
        verbose_name_plural = _("reminder pauses")

    def __str__(self):
        return str(self.grant)


class Broadcast(models.Model):
    """An incidental SMS to the institutions a filter selects, queued in the background.

    Lifecycle::

        PENDING ──task starts──> QUEUING ──every chunk queued──> QUEUED
           └──────────────┴──────────────────┴──cancel──> CANCELLED (queued messages withdrawn)
        QUEUING ──unexpected error──> FAILED
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the worker")
        QUEUING = "queuing", _("Queuing")
        QUEUED = "queued", _("Queued")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    text = models.TextField(_("text"))
    isi = models.TextField(_("message body"), blank=True)
    template_version = models.ForeignKey(SmsTemplateVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+", verbose_name=_("template version"))
    legacy_money = models.BooleanField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(_("recipients"), default=0)
    queued = models.PositiveIntegerField(_("queued"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    withdrawn = models.PositiveIntegerField(_("withdrawn"), default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("cancelled by"))
    error = models.CharField(_("error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.text[:40]}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("automation:broadcast_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.PENDING, self.Status.QUEUING}


class BroadcastRecipient(models.Model):
    """One institution of a broadcast and the message queued to it."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    institution = models.ForeignKey("grants.Institution", on_delete=models.CASCADE, related_name="+")
    grant = models.ForeignKey("grants.Grant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.ForeignKey("sms.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["broadcast", "institution"],
                                               name="automation_broadcast_recipient")]

    def __str__(self):
        return f"{self.broadcast_id}:{self.institution_id}"
