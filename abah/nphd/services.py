"""Writes of the NPHD invitations: invite, group into appointments, Proses (text every invitee once),
Admin cancel and resend, and closing an invitation when the NPHD is signed.

Every write locks the appointment row (``select_for_update``; on SQLite the IMMEDIATE transactions serialise
writers), re-checks its rule under the lock, logs an Activity on each grant and notifies the people concerned.
Each text has the idempotency key ``nphd:<invitation>:<send_no>`` (``nphd:<invitation>:cancel`` for a
cancellation), so even a request retried after the lock cannot text an invitee twice.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from abah.automation.templating import MissingValues, grant_context, render
from abah.core.access import is_admin
from abah.core.formatting import hari_tanggal, tanggal
from abah.grants import services as grant_services
from abah.grants.messaging import queue_to_institution
from abah.grants.models import Grant
from abah.grants.phones import parse_contact_number
from abah.notifications.services import notify
from abah.sms import phone as phone_utils
from abah.sms import services as sms_services
from abah.sms.models import Message
from abah.sms.window import held_sentence

from . import access, conf
from .models import Appointment, Invitation

S = Grant.Status
# Grant statuses that may be invited (DOMAIN.md §2): the SK is issued, or the NPHD already scheduled.
INVITABLE = (S.DITETAPKAN, S.NPHD_DIJADWALKAN)



# ---------------------------------------------------------------- rules (also used by views to show buttons)


def process_refusal(appointment: Appointment, *, today: datetime.date | None = None) -> str:
    """Why Proses is not possible now ("" when it is). The same rule the service enforces under its lock."""
    today = today or timezone.localdate()
    if appointment.cancelled_at is not None:
        return _("This appointment has been cancelled.")
    if appointment.date < today:
        return _("The date %(date)s has passed; the invitation can no longer be processed.") % {
            "date": tanggal(appointment.date)}
    active = appointment.invitations.filter(status=Invitation.Status.ACTIVE)
    if not active.exists():
        return _("This appointment has no active invitation.")
    if not active.filter(notified_at__isnull=True).exists():
        return _("Proses has already been done for this appointment.")  # queued is not sent: say what was done
    return ""


def resend_refusal(appointment: Appointment, invitation: Invitation | None = None, *,
                   today: datetime.date | None = None) -> str:
    """Why the notification cannot be sent again ("" when it can)."""
    today = today or timezone.localdate()
    if appointment.cancelled_at is not None:
        return _("This appointment has been cancelled.")
    if appointment.date < today:
        return _("The date %(date)s has passed; the invitation can no longer be processed.") % {
            "date": tanggal(appointment.date)}
    if invitation is not None:
        if not invitation.is_active:
            return _("This invitation is no longer active.")
        if invitation.notified_at is None:
            return _("This institution has not been texted yet; use Proses.")
        return ""
    if not appointment.invitations.filter(status=Invitation.Status.ACTIVE, notified_at__isnull=False).exists():
        return _("Nothing to resend: no active invitation of this appointment has been texted.")
    return ""


def _require_admin(by):
    if not is_admin(by):
        raise PermissionDenied(_("Only an Admin may cancel an invitation or resend its notification."))


def _locked_appointment(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().get(pk=appointment.pk)


def _tell(users, *, kind: str, target, actor, make_text) -> None:
    """Notify each distinct user, the text in the recipient's language (Indonesian by default)."""
    seen = set()
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        with translation.override(getattr(user, "language", None) or "id"):
            text = make_text()
        notify(user=user, kind=kind, text=text, target=target, actor=actor)


def _with_window(text: str, now=None) -> str:
    """A Log entry or notification about an invitation text just queued, with "Menunggu jam kirim: akan dikirim
    mulai 08:00 WIB." when the send window holds it."""
    held = held_sentence(Message.Kind.INVITATION, now)
    return f"{text} {held}" if held else text


# ---------------------------------------------------------------- the invitation text


def text_context(invitation: Invitation, appointment: Appointment) -> dict:
    """{lembaga} {tahun} {hari} {tgl} {jam} {tempat} {telp} … for the invitation templates."""
    return grant_context(invitation.grant, tgl=appointment.date, jam=appointment.time, tempat=appointment.place)


def _queue(invitation: Invitation, appointment: Appointment, *, kind: str, key: str) -> Message:
    grant = invitation.grant
    try:
        rendered = render(kind, text_context(invitation, appointment))
    except MissingValues as error:
        raise ValidationError(str(error), code="template") from None
    meta = {**rendered.meta, "grant": grant.pk, "invitation": invitation.pk, "appointment": appointment.pk}
    try:
        return queue_to_institution(institution=grant.institution, text=rendered.text, kind=rendered.message_kind,
                                    idempotency_key=key, sender=None, meta=meta)
    except ValidationError as error:
        raise ValidationError(_("%(institution)s: %(reason)s") % {
            "institution": grant.institution.name, "reason": " ".join(error.messages)}, code="queue") from None


def _send(invitation: Invitation, appointment: Appointment, *, now) -> Message:
    """Text one invitation (send number + 1); returns the message."""
    invitation.send_no += 1
    message = _queue(invitation, appointment, kind="invitation", key=f"nphd:{invitation.pk}:{invitation.send_no}")
    invitation.message = message
    invitation.notified_at = now
    invitation.phone = message.number
    invitation.save(update_fields=["send_no", "message", "notified_at", "phone"])
    return message


# ---------------------------------------------------------------- invite


def _appointment_for(*, date: datetime.date, petugas, by) -> Appointment:
    """The open appointment of (date, petugas), created on first use; locked."""
    query = Appointment.objects.select_for_update().filter(date=date, petugas=petugas, cancelled_at__isnull=True)
    appointment = query.first()
    if appointment is not None:
        return appointment
    try:
        with transaction.atomic():
            return Appointment.objects.create(date=date, petugas=petugas, created_by=by, time=conf.default_time(),
                                              place=conf.default_place())
    except IntegrityError:  # another request created it first
        return query.get()


@transaction.atomic
def invitation_create(*, grant: Grant, date: datetime.date | None, phone: str, person: str, region: str = "ID",
                      by, today: datetime.date | None = None) -> Invitation:
    """Undangan NPHD from a grant (Ya): record the invitation in the appointment of (date, the grant's petugas),
    schedule the NPHD on the grant and make (person, phone) the institution's contact (history kept)."""
    if not access.can_invite(by, grant):
        raise PermissionDenied(_("Only the assigned officer or an Admin may invite this institution."))
    today = today or timezone.localdate()
    errors = {}
    if not date:
        errors["date"] = _("Enter the NPHD date.")
    elif date < today:
        errors["date"] = _("The NPHD date cannot be in the past.")
    person = " ".join((person or "").split())
    if not person:
        errors["person"] = _("Enter the contact person's name.")
    try:
        parse_contact_number(phone, region or "ID")
    except ValidationError as error:
        errors["phone"] = error.messages
    if errors:
        raise ValidationError(errors)
    grant = Grant.objects.select_for_update(of=("self",)).select_related("institution", "petugas").get(pk=grant.pk)
    if grant.status not in INVITABLE:
        raise ValidationError(
            _("Only a grant with status “%(sk)s” or “%(scheduled)s” can be invited; %(kode)s is “%(status)s”.")
            % {"sk": S.DITETAPKAN.label, "scheduled": S.NPHD_DIJADWALKAN.label, "kode": grant.kode,
               "status": grant.get_status_display()},
            code="status",
        )
    existing = grant.nphd_invitations.filter(status=Invitation.Status.ACTIVE).select_related("appointment").first()
    if existing is not None:
        raise ValidationError(
            _("%(institution)s is already invited on %(date)s (appointment #%(id)s). Only an Admin can cancel "
              "that invitation.")
            % {"institution": grant.institution.name, "date": tanggal(existing.appointment.date),
               "id": existing.appointment_id},
            code="already_invited",
        )
    contact = grant_services.contact_set(institution=grant.institution, person=person, phone=phone,
                                         region=region or "ID", by=by, grant=grant)
    if grant.status == S.NPHD_DIJADWALKAN and grant.nphd_date != date:
        grant_services.grant_transition(grant=grant, to=S.DITETAPKAN, by=by,
                                        note=_("NPHD date moved by a new invitation."))
        grant.refresh_from_db()
    if grant.status == S.DITETAPKAN:
        grant_services.grant_schedule_nphd(grant=grant, nphd_date=date, by=by)
    petugas = grant.petugas or by
    appointment = _appointment_for(date=date, petugas=petugas, by=by)
    invitation = Invitation.objects.create(appointment=appointment, grant=grant, person=contact.person,
                                           phone=contact.phone, region=contact.region, created_by=by)
    grant_services.log(action="nphd_invited", user=by, grant=grant, message=_(
        "%(institution)s invited to sign the NPHD on %(date)s (appointment #%(id)s).") % {
            "institution": grant.institution.name, "date": tanggal(date), "id": appointment.pk})
    _tell([by, petugas], kind="invitation_created", target=appointment, actor=by, make_text=lambda: _(
        "%(institution)s invited to sign the NPHD on %(date)s (appointment #%(id)s).") % {
            "institution": grant.institution.name, "date": tanggal(date), "id": appointment.pk})
    return invitation


@transaction.atomic
def invitation_update_contact(*, invitation: Invitation, phone: str, person: str, region: str = "ID",
                              by) -> Invitation:
    """Sunting: change an invitation's number / contact person before it is texted (the institution's contact
    follows, history kept). Once texted, only an Admin may change it (and then resend)."""
    appointment = _locked_appointment(invitation.appointment)
    invitation = appointment.invitations.select_related("grant__institution").get(pk=invitation.pk)
    if not access.can_manage(by, appointment):
        raise PermissionDenied
    if appointment.cancelled_at is not None or not invitation.is_active:
        raise ValidationError(_("This invitation is no longer active."), code="inactive")
    if invitation.notified_at is not None and not is_admin(by):
        raise ValidationError(_("The invitation has already been texted; ask an Admin to change it and resend."),
                              code="notified")
    errors = {}
    if not " ".join((person or "").split()):
        errors["person"] = _("Enter the contact person's name.")
    try:
        parse_contact_number(phone, region or "ID")
    except ValidationError as error:
        errors["phone"] = error.messages
    if errors:
        raise ValidationError(errors)
    contact = grant_services.contact_set(institution=invitation.grant.institution, person=person, phone=phone,
                                         region=region or "ID", by=by, grant=invitation.grant)
    invitation.person, invitation.phone, invitation.region = contact.person, contact.phone, contact.region
    invitation.save(update_fields=["person", "phone", "region"])
    return invitation


@transaction.atomic
def appointment_update(*, appointment: Appointment, time: datetime.time | None, place: str, by) -> Appointment:
    """Time and place of the appointment (the {jam} and {tempat} of the text), before it is texted."""
    appointment = _locked_appointment(appointment)
    if not access.can_manage(by, appointment):
        raise PermissionDenied
    if appointment.cancelled_at is not None:
        raise ValidationError(_("This appointment has been cancelled."), code="cancelled")
    if not is_admin(by) and appointment.invitations.filter(notified_at__isnull=False).exists():
        raise ValidationError(_("The invitations have already been texted; ask an Admin to change the time or "
                                "place and resend."), code="notified")
    place = " ".join((place or "").split())
    errors = {}
    if time is None:
        errors["time"] = _("Enter the time.")
    if not place:
        errors["place"] = _("Enter the place.")
    elif len(place) > 255:
        errors["place"] = _("The place may have at most 255 characters.")
    if errors:
        raise ValidationError(errors)
    if (appointment.time, appointment.place) != (time, place):
        appointment.time, appointment.place = time, place
        appointment.save(update_fields=["time", "place"])
        for invitation in appointment.invitations.filter(status=Invitation.Status.ACTIVE).select_related(
                "grant__institution"):
            grant_services.log(action="nphd_updated", user=by, grant=invitation.grant, message=_(
                "NPHD appointment #%(id)s: %(time)s at %(place)s.") % {
                    "id": appointment.pk, "time": time.strftime("%H.%M"), "place": place})
    return appointment


# ---------------------------------------------------------------- Proses


@transaction.atomic
def appointment_process(*, appointment: Appointment, by, today: datetime.date | None = None) -> list[Message]:
    """Proses: text every active invitee not texted yet, in one transaction. Refused (ValidationError with the
    reason) when the notification was already sent, the date has passed or the appointment is cancelled."""
    appointment = _locked_appointment(appointment)
    if not access.can_manage(by, appointment):
        raise PermissionDenied
    reason = process_refusal(appointment, today=today)
    if reason:
        raise ValidationError(reason, code="refused")
    now = timezone.now()
    invitations = list(appointment.invitations.filter(status=Invitation.Status.ACTIVE, notified_at__isnull=True)
                       .select_related("grant__institution").order_by("id"))
    messages = [_send(invitation, appointment, now=now) for invitation in invitations]
    appointment.notified_at = now
    appointment.processed_by = by
    appointment.save(update_fields=["notified_at", "processed_by"])
    # Queued, not sent: the text goes when a gateway accepts it (the send window may hold it until the morning);
    # the message's own mark on the grant's Log and in Pesan tells the rest.
    for invitation, message in zip(invitations, messages, strict=True):
        grant_services.log(action="nphd_processed", user=by, grant=invitation.grant, message=_with_window(_(
            "NPHD invitation SMS for %(date)s queued to %(phone)s.") % {
                "date": hari_tanggal(appointment.date), "phone": phone_utils.mask(message.number)}, now))
    _tell([by], kind="invitation_processed", target=appointment, actor=by, make_text=lambda: _with_window(_(
        "NPHD invitation of %(date)s processed: %(count)s text(s) queued.") % {
            "date": tanggal(appointment.date), "count": len(messages)}, now))
    return messages


# ---------------------------------------------------------------- Admin: cancel and resend


def _cancel_one(invitation: Invitation, appointment: Appointment, *, by, send_text: bool, now) -> Message | None:
    invitation.status = Invitation.Status.CANCELLED
    invitation.cancelled_at, invitation.cancelled_by = now, by
    invitation.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    # Every text of this invitation still waiting in the queue is withdrawn (a resend may have queued several).
    keys = [f"nphd:{invitation.pk}:{n}" for n in range(1, invitation.send_no + 1)]
    texts = Message.objects.filter(idempotency_key__in=keys)
    withdrawn = sms_services.cancel_messages(ids=list(texts.filter(status=Message.Status.QUEUED)
                                                      .values_list("pk", flat=True)))
    went_out = texts.exclude(status=Message.Status.CANCELLED).exists()
    message = None
    if send_text and went_out:
        message = _queue(invitation, appointment, kind="invitation_cancelled", key=f"nphd:{invitation.pk}:cancel")
    grant = Grant.objects.select_for_update(of=("self",)).select_related("institution").get(pk=invitation.grant_id)
    if grant.status == S.NPHD_DIJADWALKAN:
        grant_services.grant_transition(grant=grant, to=S.DITETAPKAN, by=by, note=_("NPHD invitation cancelled."))
    text = _("NPHD invitation of %(date)s cancelled.") % {"date": tanggal(appointment.date)}
    if withdrawn and not went_out:
        text += " " + _("The invitation text had not gone out yet and was withdrawn.")
    if message is not None:
        text += " " + _with_window(_("Cancellation SMS queued to %(phone)s.") % {
            "phone": phone_utils.mask(message.number)}, now)
    grant_services.log(action="nphd_cancelled", message=text, user=by, grant=grant)
    return message


@transaction.atomic
def invitation_cancel(*, invitation: Invitation, by, send_text: bool = False) -> Invitation:
    """Admin: cancel one invitation (optionally texting a cancellation when it had been texted); the grant's
    NPHD schedule is withdrawn. An appointment left without invitations is cancelled too."""
    _require_admin(by)
    appointment = _locked_appointment(invitation.appointment)
    invitation = appointment.invitations.select_related("grant__institution").get(pk=invitation.pk)
    if appointment.cancelled_at is not None or not invitation.is_active:
        raise ValidationError(_("This invitation is no longer active."), code="inactive")
    now = timezone.now()
    _cancel_one(invitation, appointment, by=by, send_text=send_text, now=now)
    if not appointment.invitations.filter(status__in=Invitation.LIVE).exists():
        appointment.cancelled_at, appointment.cancelled_by = now, by
        appointment.save(update_fields=["cancelled_at", "cancelled_by"])
    name = invitation.grant.institution.name
    _tell([appointment.petugas, by], kind="invitation_cancelled", target=appointment, actor=by, make_text=lambda: _(
        "NPHD invitation of %(institution)s on %(date)s cancelled by %(user)s.") % {
            "institution": name, "date": tanggal(appointment.date), "user": by})
    return invitation


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, by, send_text: bool = False) -> Appointment:
    """Admin: cancel a whole appointment and each of its active invitations."""
    _require_admin(by)
    appointment = _locked_appointment(appointment)
    if appointment.cancelled_at is not None:
        raise ValidationError(_("This appointment has been cancelled."), code="cancelled")
    now = timezone.now()
    invitations = list(appointment.invitations.filter(status=Invitation.Status.ACTIVE)
                       .select_related("grant__institution").order_by("id"))
    for invitation in invitations:
        _cancel_one(invitation, appointment, by=by, send_text=send_text, now=now)
    appointment.cancelled_at, appointment.cancelled_by = now, by
    appointment.save(update_fields=["cancelled_at", "cancelled_by"])
    _tell([appointment.petugas, by], kind="invitation_cancelled", target=appointment, actor=by, make_text=lambda: _(
        "NPHD appointment #%(id)s of %(date)s cancelled by %(user)s (%(count)s invitation(s)).") % {
            "id": appointment.pk, "date": tanggal(appointment.date), "user": by, "count": len(invitations)})
    return appointment


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by, today: datetime.date | None = None) -> Message:
    """Admin: text the invitation again (a new message; the earlier one stays in the thread)."""
    _require_admin(by)
    appointment = _locked_appointment(invitation.appointment)
    invitation = appointment.invitations.select_related("grant__institution").get(pk=invitation.pk)
    reason = resend_refusal(appointment, invitation, today=today)
    if reason:
        raise ValidationError(reason, code="refused")
    message = _send(invitation, appointment, now=timezone.now())
    grant_services.log(action="nphd_resent", user=by, grant=invitation.grant, message=_with_window(_(
        "NPHD invitation SMS for %(date)s queued again to %(phone)s.") % {
            "date": hari_tanggal(appointment.date), "phone": phone_utils.mask(message.number)}))
    name = invitation.grant.institution.name
    _tell([appointment.petugas, by], kind="invitation_resent", target=appointment, actor=by, make_text=lambda: _(
        "NPHD invitation of %(institution)s on %(date)s resent by %(user)s.") % {
            "institution": name, "date": tanggal(appointment.date), "user": by})
    return message


@transaction.atomic
def appointment_resend(*, appointment: Appointment, by, today: datetime.date | None = None) -> list[Message]:
    """Admin: text every active, already texted invitation of the appointment again."""
    _require_admin(by)
    appointment = _locked_appointment(appointment)
    reason = resend_refusal(appointment, today=today)
    if reason:
        raise ValidationError(reason, code="refused")
    invitations = list(appointment.invitations.filter(status=Invitation.Status.ACTIVE, notified_at__isnull=False)
                       .select_related("grant__institution").order_by("id"))
    now = timezone.now()
    messages = []
    for invitation in invitations:
        message = _send(invitation, appointment, now=now)
        messages.append(message)
        grant_services.log(action="nphd_resent", user=by, grant=invitation.grant, message=_with_window(_(
            "NPHD invitation SMS for %(date)s queued again to %(phone)s.") % {
                "date": hari_tanggal(appointment.date), "phone": phone_utils.mask(message.number)}, now))
    _tell([appointment.petugas, by], kind="invitation_resent", target=appointment, actor=by, make_text=lambda: _(
        "NPHD appointment #%(id)s of %(date)s resent by %(user)s (%(count)s text(s)).") % {
            "id": appointment.pk, "date": tanggal(appointment.date), "user": by, "count": len(messages)})
    return messages


# ---------------------------------------------------------------- NPHD signed


@transaction.atomic
def close_for_grant(*, grant: Grant, by=None) -> int:
    """The NPHD was recorded as signed: the grant's active invitation is closed. Returns the count."""
    count = Invitation.objects.filter(grant=grant, status=Invitation.Status.ACTIVE).update(
        status=Invitation.Status.CLOSED, closed_at=timezone.now())
    if count:
        grant_services.log(action="nphd_invitation_closed", user=by, grant=grant,
                           message=_("NPHD invitation closed: the NPHD has been signed."))
    return count


def on_nphd_signed(sender, grant, user=None, **kwargs):
    close_for_grant(grant=grant, by=user)
