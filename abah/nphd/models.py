"""Undangan NPHD: an invitation to sign a grant agreement, grouped into appointments per (date, petugas).

An appointment's Notifikasi is "sent" when it has texted invitations and no active invitation is waiting
for its text; Proses texts the active invitations not texted yet. Each text is an sms Message in the
institution's Pesan thread; the invitation keeps a link to its latest one (a resend adds a new message,
the old one stays in the thread).

    Invitation: ACTIVE ──cancel (Admin)──> CANCELLED
                ACTIVE ──NPHD recorded as signed──> CLOSED
    Appointment: open ──cancel (Admin), or its last invitation cancelled──> cancelled
"""

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def default_time():
    from .conf import default_time as value

    return value()


def default_place():
    from .conf import default_place as value

    return value()


class AppointmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Admin: every appointment; a petugas: only their own."""
        from abah.core.access import is_admin

        if is_admin(user):
            return self
        return self.filter(petugas_id=user.pk)

    def with_counts(self):
        """jumlah: live invitations (active or NPHD signed); unsent: active not texted; texted: live texted."""
        live = Q(invitations__status__in=Invitation.LIVE)
        return self.annotate(
            jumlah=Count("invitations", filter=live, distinct=True),
            unsent=Count("invitations", filter=Q(invitations__status=Invitation.Status.ACTIVE,
                                                 invitations__notified_at__isnull=True), distinct=True),
            texted=Count("invitations", filter=live & Q(invitations__notified_at__isnull=False), distinct=True),
        )

    def notified(self, value: bool):
        """Filter annotated rows (``with_counts``) by Notifikasi sent (True) or not (False)."""
        sent = Q(unsent=0, texted__gt=0)
        return self.filter(sent) if value else self.exclude(sent)


class Appointment(models.Model):
    """The invitations of one petugas on one date (one row of Hibah > Undangan NPHD)."""

    date = models.DateField(_("date"))
    petugas = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="nphd_appointments",
                                verbose_name=_("officer"))
    time = models.TimeField(_("time"), default=default_time)
    place = models.CharField(_("place"), max_length=255, default=default_place)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    processed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("processed by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("cancelled by"))

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("NPHD appointment")
        verbose_name_plural = _("NPHD appointments")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["date", "petugas"], condition=Q(cancelled_at__isnull=True),
                                    name="nphd_appointment_one_open_per_day"),
        ]
        indexes = [models.Index(fields=["petugas", "-date"], name="nphd_appt_petugas_date")]

    def __str__(self):
        from abah.core.formatting import tanggal

        return f"#{self.pk} {tanggal(self.date)}"

    def get_absolute_url(self):
        return reverse("nphd:appointment_detail", args=[self.pk])

    @property
    def is_past(self) -> bool:
        return self.date < timezone.localdate()

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def live_invitations(self):
        return self.invitations.filter(status__in=Invitation.LIVE)

    def _counts(self) -> tuple[int, int, int]:
        if all(hasattr(self, name) for name in ("jumlah", "unsent", "texted")):
            return self.jumlah, self.unsent, self.texted
        live = self.live_invitations()
        return (live.count(), self.invitations.filter(status=Invitation.Status.ACTIVE, notified_at__isnull=True).count(),
                live.filter(notified_at__isnull=False).count())

    @property
    def is_notified(self) -> bool:
        """Notifikasi: texts went out and no active invitation is waiting for one."""
        _jumlah, unsent, texted = self._counts()
        return texted > 0 and unsent == 0


class Invitation(models.Model):
    """One institution (through its grant) invited to sign its NPHD on the appointment's date."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")
        CLOSED = "closed", _("NPHD signed")

    LIVE = (Status.ACTIVE, Status.CLOSED)

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="invitations",
                                    verbose_name=_("appointment"))
    grant = models.ForeignKey("grants.Grant", on_delete=models.PROTECT, related_name="nphd_invitations",
                              verbose_name=_("grant"))
    person = models.CharField(_("contact person"), max_length=150)
    phone = models.CharField(_("phone number"), max_length=16)
    region = models.CharField(_("country"), max_length=2, default="ID")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    send_no = models.PositiveSmallIntegerField(_("texts sent"), default=0)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    message = models.ForeignKey("sms.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("message"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("cancelled by"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("NPHD invitation")
        verbose_name_plural = _("NPHD invitations")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["grant"], condition=Q(status="active"),
                                    name="nphd_invitation_one_active_per_grant"),
        ]

    def __str__(self):
        return f"{self.grant} @ {self.appointment_id}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def phone_national(self) -> str:
        from abah.sms.phone import national

        return national(self.phone)
