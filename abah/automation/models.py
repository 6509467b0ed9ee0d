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
