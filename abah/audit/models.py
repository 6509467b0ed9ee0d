"""The audit log: who did what with personal data, when and from which address (UU 27/2022 PDP).

Append-only for everyone in the application: an entry is written once (``abah.audit.services.record``) and
never changed; ``save()`` of an existing entry, ``delete()``, ``QuerySet.update()`` and ``QuerySet.delete()``
all raise ``AppendOnlyError``. The one way out is the retention purge (``AuditQuerySet.purge_before``), run by
``manage.py retention``. There are no update or delete views, and the model is not in any admin site.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AppendOnlyError(Exception):
    """An audit entry may be written once and never changed or deleted (except by the retention purge)."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are append-only")

    def delete(self):
        raise AppendOnlyError("audit entries are append-only (only the retention purge removes them)")

    def purge_before(self, cutoff) -> int:
        """Delete the entries written before ``cutoff`` (the retention purge); returns how many."""
        deleted, _by_model = models.QuerySet.delete(self.filter(at__lt=cutoff))
        return deleted


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        LOGIN = "login", pgettext_lazy("audit action", "Login")
        LOGIN_FAILED = "login_failed", pgettext_lazy("audit action", "Login failed")
        LOGOUT = "logout", pgettext_lazy("audit action", "Logout")
        VIEW_CONTACT = "view_contact", pgettext_lazy("audit action", "Contact number viewed")
        SEARCH = "search", pgettext_lazy("audit action", "Search")
        VIEW_MESSAGES = "view_messages", pgettext_lazy("audit action", "Messages opened")
        EXPORT = "export", pgettext_lazy("audit action", "Export")
        IMPORT = "import", pgettext_lazy("audit action", "Import")
        SEND = "send", pgettext_lazy("audit action", "SMS sent by hand")
        BROADCAST = "broadcast", pgettext_lazy("audit action", "Broadcast")
        ADMIN = "admin", pgettext_lazy("audit action", "Admin action")
        RETENTION = "retention", pgettext_lazy("audit action", "Retention purge")

    at = models.DateTimeField(_("time"), default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(_("username"), max_length=150, blank=True)  # kept when the user is gone
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    target_type = models.CharField(_("object type"), max_length=64, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    count = models.PositiveIntegerField(_("count"), null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_newest"),
            models.Index(fields=["action", "-at"], name="audit_action"),
            models.Index(fields=["username", "-at"], name="audit_username"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '-'} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are append-only")
