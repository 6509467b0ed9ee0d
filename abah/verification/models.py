"""Verification codes: only a salted HMAC of each code is stored, never the code itself."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class VerificationCode(models.Model):
    """One code sent to one number for one user.

    A code is usable while it is the user's newest (not superseded), not used, not expired and has had
    fewer than ``MAX_ATTEMPTS`` wrong tries. Sending a new code supersedes the previous one.

        sent ──right code──> used (the user's phone and phone_verified_at are set)
          │──10 minutes──> expired      │──5 wrong codes──> blocked      │──new code sent──> superseded
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="verification_codes"
    )
    phone = models.CharField(_("phone number"), max_length=16)  # E.164, the number being verified
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)  # HMAC-SHA256(SECRET_KEY, salt:code), hex
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    sms_message_id = models.BigIntegerField(null=True, blank=True)  # the SMS Center message that carried it

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")
        indexes = [models.Index(fields=["user", "-created_at"], name="verif_user_latest")]

    def __str__(self):
        return f"{self.user} {self.phone}"

    @property
    def is_pending(self) -> bool:
        return self.used_at is None and self.superseded_at is None
