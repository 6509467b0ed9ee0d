"""Views of the NPHD invitations: the invite dialog, Hibah > Undangan NPHD, the appointment page and its
dialogs (Proses with Ya / Tidak, Sunting, Admin cancel / resend). Thin: parse, access check, service, render."""

import hashlib

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from abah.automation.templating import MissingValues
from abah.automation.templating import render as render_template
from abah.core.access import admin_required, is_admin, staff_required
from abah.core.formatting import hari_tanggal, tanggal
from abah.core.params import ids_param, text_param
from abah.grants.models import Grant
from abah.sms.models import Message
from abah.sms.window import held_sentence, message_state

from . import access, forms, services
from .models import Appointment, Invitation

PER_PAGE = 25


def _dialog(request, template, context, status=200):
    context["dialog_base"] = "grants/dialog_modal.html" if request.htmx else "grants/dialog_page.html"
    return render(request, template, context, status=status)


def _done(request, message, url, *, level=messages.SUCCESS):
    """After a dialog: refresh the page under the modal (htmx) or go to ``url``."""
    messages.add_message(request, level, message)
    if request.htmx:
        response = HttpResponseClientRefresh()
        response["HX-Trigger"] = "abah:close-modal"
        return response
    return redirect(url)


def _add_errors(form, error: ValidationError):
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _language():
    return get_language() or "id"


# ---------------------------------------------------------------- invite (from a grant card or page)


@staff_required
def invite(request, grant_pk):
    grant = get_object_or_404(Grant.objects.select_related("institution", "petugas"), pk=grant_pk)
    if not access.can_invite(request.user, grant):
        raise PermissionDenied
    existing = (grant.nphd_invitations.filter(status=Invitation.Status.ACTIVE).select_related("appointment")
                .first())
    contact = grant.institution.current_contact
    initial = {"region": contact.region if contact else "ID", "person": contact.person if contact else "",
               "phone": contact.phone_national if contact else ""}
    if grant.nphd_date and grant.nphd_date >= timezone.localdate():
        initial["date"] = grant.nphd_date
    form = forms.InvitationForm(request.POST or None, initial=initial, language=_language())
    possible = grant.status in services.INVITABLE and existing is None
    if request.method == "POST" and possible and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = services.invitation_create(grant=grant, date=data["date"], phone=data["phone"],
                                                    person=data["person"], region=data["region"], by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            appointment = invitation.appointment
            return _done(request, _("%(institution)s is invited to sign the NPHD on %(date)s (appointment #%(id)s).")
                         % {"institution": grant.institution.name, "date": tanggal(appointment.date),
                            "id": appointment.pk}, appointment.get_absolute_url())
    return _dialog(request, "nphd/invitation_form.html", {
        "grant": grant, "form": form, "existing": existing, "possible": possible,
        "action": reverse("nphd:invite", args=[grant.pk])})


# ---------------------------------------------------------------- Hibah > Undangan NPHD


def _petugas_choices(user):
    if not is_admin(user):
        return []
    users = get_user_model().objects.filter(nphd_appointments__isnull=False).distinct().order_by(
        "first_name", "last_name", "username")
    return [(u.pk, str(u)) for u in users]


@staff_required
def appointment_list(request):
    admin = is_admin(request.user)
    form = forms.FilterForm(request.GET or None, petugas_choices=_petugas_choices(request.user))
    rows = Appointment.objects.visible_to(request.user).select_related("petugas").with_counts()
    filters = form.cleaned_data if form.is_valid() else {}
    status = filters.get("status", "")
    if status == "cancelled":
        rows = rows.filter(cancelled_at__isnull=False)
    elif status != "all":
        rows = rows.filter(cancelled_at__isnull=True)
    if filters.get("date_from"):
        rows = rows.filter(date__gte=filters["date_from"])
    if filters.get("date_to"):
        rows = rows.filter(date__lte=filters["date_to"])
    if admin and filters.get("petugas"):
        rows = rows.filter(petugas_id=filters["petugas"])
    if filters.get("notified") in ("0", "1"):
        rows = rows.notified(filters["notified"] == "1")
    order = "date" if request.GET.get("o") == "date" else "-date"
    rows = rows.order_by(order, "-id" if order == "-date" else "id")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "nphd/appointment_list.html", {
        "form": form, "page": page, "order": order, "admin": admin, "today": timezone.localdate(),
        "bulk_actions": _bulk_actions(request.user),
    })


def _bulk_actions(user):
    actions = [(forms.BULK_PROCESS, _("Process the selected"))]
    if access.can_cancel(user):
        actions.append((forms.BULK_CANCEL, _("Cancel the selected")))
    return actions


@staff_required
@require_POST
def bulk_action(request):
    """Pilih aksi: Proses (or, Admin only, cancel) the selected appointments, after a Ya confirmation."""
    action = request.POST.get("action", "")
    if action not in dict(_bulk_actions(request.user)):
        if action == forms.BULK_CANCEL:
            raise PermissionDenied
        messages.error(request, _("Choose an action."))
        return _back_to_list(request)
    ids = ids_param(request.POST, "ids", limit=200)
    appointments = list(Appointment.objects.visible_to(request.user).filter(pk__in=ids).select_related("petugas")
                        .with_counts().order_by("-date", "-id"))
    if not appointments:
        messages.error(request, _("Select at least one appointment."))
        return _back_to_list(request)
    if request.POST.get("confirm") != "1":
        return _dialog(request, "nphd/bulk_confirm.html", {
            "appointments": appointments, "action": action, "label": dict(_bulk_actions(request.user))[action],
            "cancel_form": forms.CancelForm(), "url": reverse("nphd:bulk_action")})
    done, refused = [], []
    for appointment in appointments:
        try:
            if action == forms.BULK_PROCESS:
                services.appointment_process(appointment=appointment, by=request.user)
            else:
                services.appointment_cancel(appointment=appointment, by=request.user,
                                            send_text=request.POST.get("send_text") == "on")
        except ValidationError as error:
            refused.append(f"#{appointment.pk}: {' '.join(error.messages)}")
        else:
            done.append(appointment)
    if done:
        text = (ngettext("%(count)d appointment processed.", "%(count)d appointments processed.", len(done))
                if action == forms.BULK_PROCESS else
                ngettext("%(count)d appointment cancelled.", "%(count)d appointments cancelled.", len(done)))
        messages.success(request, text % {"count": len(done)})
    for line in refused:
        messages.warning(request, line)
    return _back_to_list(request)


def _back_to_list(request):
    url = reverse("nphd:appointment_list")
    if request.htmx:
        response = HttpResponseClientRefresh()
        response["HX-Trigger"] = "abah:close-modal"
        return response
    return redirect(url)


# ---------------------------------------------------------------- the appointment page


def _invitations(appointment):
    return (appointment.invitations.select_related("grant__institution", "message", "cancelled_by")
            .order_by("id"))


POLL_SECONDS = 4  # the appointment page asks this often whether an invitee's mark changed (as the Pesan dialog)


def _invitees_token(rows) -> str:
    """A fingerprint of the invitees' marks: (invitation, its status, its text, the text's status, when sent)."""
    return hashlib.blake2b(repr(list(rows)).encode(), digest_size=8).hexdigest()


def _invitees_token_now(appointment_id: int) -> str:
    """The same fingerprint from the database, in one query: the poll's no-change path."""
    return _invitees_token(
        Invitation.objects.filter(appointment_id=appointment_id).order_by("id")
        .values_list("id", "status", "message_id", "message__status", "notified_at"))


def _detail_context(request, appointment):
    invitations = list(_invitations(appointment))
    live = [i for i in invitations if i.status in Invitation.LIVE]
    refusal = services.process_refusal(appointment)
    admin = is_admin(request.user)
    pending = any(i.message_id and i.message.status in Message.PENDING_STATUSES for i in live)
    # Texts still in the queue (maybe held by the send window): the badge says "Antre" / "Menunggu jam kirim",
    # not "Sudah dikirim", until a gateway accepted them.
    queued = next((message_state(i.message) for i in live if i.message_id and i.message.status in (
        Message.Status.QUEUED, Message.Status.SENDING)), None)
    return {
        "appointment": appointment, "invitations": live,
        "cancelled": [i for i in invitations if i.status == Invitation.Status.CANCELLED],
        "jumlah": len(live), "notified": any(i.notified_at for i in live) and not any(
            i.is_active and i.notified_at is None for i in live),
        "refusal": refusal, "admin": admin, "pending": pending, "queued": queued,
        # Live (issue 14): the invitees poll while the appointment stands, whatever is pending: a late report,
        # a text sent by another clerk or a reply changes a mark at any time.
        "live": appointment.cancelled_at is None and bool(live), "poll_seconds": POLL_SECONDS,
        "token": _invitees_token((i.pk, i.status, i.message_id, i.message.status if i.message_id else None,
                                  i.notified_at) for i in invitations),
        "can_edit": appointment.cancelled_at is None and (admin or not any(i.notified_at for i in live)),
        "resend_refusal": services.resend_refusal(appointment) if admin else "",
        "today": timezone.localdate(), "date_label": hari_tanggal(appointment.date),
    }


@staff_required
def appointment_detail(request, pk):
    """Sunting Undangan NPHD: Appointment, Lembaga (each with its text's status), Informasi; Kembali / Proses."""
    appointment = access.appointment_or_403(request, pk)
    polled = request.htmx and request.headers.get("HX-Target") == "nphd-invitees"
    shown = text_param(request.GET, "v", max_length=32)
    if polled and shown and shown == _invitees_token_now(appointment.pk):
        return HttpResponse(status=204)  # nothing changed: htmx swaps nothing
    context = _detail_context(request, appointment)
    if polled:
        context["polled"] = True
        return render(request, "nphd/appointment_detail.html#invitees", context)
    return render(request, "nphd/appointment_detail.html", context)


@staff_required
def appointment_edit(request, pk):
    """Sunting the time and place of the appointment (what the SMS announces)."""
    appointment = access.appointment_or_403(request, pk)
    form = forms.AppointmentForm(request.POST or None, initial={"time": appointment.time, "place": appointment.place})
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_update(appointment=appointment, time=form.cleaned_data["time"],
                                        place=form.cleaned_data["place"], by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("The time and place have been saved."), appointment.get_absolute_url())
    return _dialog(request, "nphd/appointment_form.html", {
        "appointment": appointment, "form": form, "action": reverse("nphd:appointment_edit", args=[pk])})


def _preview(appointment):
    """The text the first active, not yet texted invitee would get (shown before Ya)."""
    invitation = (appointment.invitations.filter(status=Invitation.Status.ACTIVE, notified_at__isnull=True)
                  .select_related("grant__institution").order_by("id").first())
    if invitation is None:
        return "", ""
    try:
        return render_template("invitation", services.text_context(invitation, appointment)).text, ""
    except (MissingValues, ValidationError) as error:
        return "", " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


@staff_required
def appointment_process(request, pk):
    """Proses: GET asks Ya / Tidak (or says why not); POST texts every invitee not texted yet."""
    appointment = access.appointment_or_403(request, pk)
    if request.method == "POST":
        try:
            sent = services.appointment_process(appointment=appointment, by=request.user)
        except ValidationError as error:
            return _done(request, " ".join(error.messages), appointment.get_absolute_url(), level=messages.ERROR)
        answer = ngettext(
            "The invitation text has been queued for %(count)d institution.",
            "The invitation text has been queued for %(count)d institutions.", len(sent)) % {"count": len(sent)}
        held = held_sentence(Message.Kind.INVITATION)  # queued is not sent: say when the window lets it go
        return _done(request, f"{answer} {held}" if held else answer, appointment.get_absolute_url())
    refusal = services.process_refusal(appointment)
    preview, preview_error = ("", "") if refusal else _preview(appointment)
    unsent = appointment.invitations.filter(status=Invitation.Status.ACTIVE, notified_at__isnull=True).count()
    return _dialog(request, "nphd/process_confirm.html", {
        "appointment": appointment, "refusal": refusal, "preview": preview, "preview_error": preview_error,
        "unsent": unsent, "action": reverse("nphd:appointment_process", args=[pk])})


@admin_required
def appointment_cancel(request, pk):
    appointment = get_object_or_404(Appointment.objects.select_related("petugas"), pk=pk)
    form = forms.CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_cancel(appointment=appointment, by=request.user,
                                        send_text=form.cleaned_data["send_text"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("Appointment #%(id)s has been cancelled.") % {"id": appointment.pk},
                         appointment.get_absolute_url())
    return _dialog(request, "nphd/cancel_confirm.html", {
        "appointment": appointment, "invitation": None, "form": form,
        "texted": appointment.invitations.filter(status=Invitation.Status.ACTIVE, notified_at__isnull=False).exists(),
        "possible": appointment.cancelled_at is None,
        "action": reverse("nphd:appointment_cancel", args=[pk])})


@admin_required
def appointment_resend(request, pk):
    appointment = get_object_or_404(Appointment.objects.select_related("petugas"), pk=pk)
    if request.method == "POST":
        try:
            sent = services.appointment_resend(appointment=appointment, by=request.user)
        except ValidationError as error:
            return _done(request, " ".join(error.messages), appointment.get_absolute_url(), level=messages.ERROR)
        return _done(request, ngettext(
            "The invitation text has been sent again to %(count)d institution.",
            "The invitation text has been sent again to %(count)d institutions.", len(sent)) % {"count": len(sent)},
            appointment.get_absolute_url())
    return _dialog(request, "nphd/resend_confirm.html", {
        "appointment": appointment, "invitation": None, "refusal": services.resend_refusal(appointment),
        "action": reverse("nphd:appointment_resend", args=[pk])})


# ---------------------------------------------------------------- one invitation


@staff_required
def invitation_edit(request, pk):
    """Sunting: the number and contact person of one invitation (and the institution's contact)."""
    invitation = access.invitation_or_403(request, pk)
    appointment = invitation.appointment
    form = forms.ContactFields(request.POST or None, language=_language(), initial={
        "region": invitation.region, "phone": invitation.phone_national, "person": invitation.person})
    possible = (invitation.is_active and appointment.cancelled_at is None
                and (invitation.notified_at is None or is_admin(request.user)))
    if request.method == "POST" and possible and form.is_valid():
        data = form.cleaned_data
        try:
            services.invitation_update_contact(invitation=invitation, phone=data["phone"], person=data["person"],
                                               region=data["region"], by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("The contact of %(institution)s has been saved.") % {
                "institution": invitation.grant.institution.name}, appointment.get_absolute_url())
    return _dialog(request, "nphd/invitation_edit.html", {
        "invitation": invitation, "form": form, "possible": possible,
        "action": reverse("nphd:invitation_edit", args=[pk])})


@admin_required
def invitation_cancel(request, pk):
    invitation = get_object_or_404(Invitation.objects.select_related("appointment__petugas", "grant__institution"),
                                   pk=pk)
    form = forms.CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_cancel(invitation=invitation, by=request.user,
                                       send_text=form.cleaned_data["send_text"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _("The invitation of %(institution)s has been cancelled.") % {
                "institution": invitation.grant.institution.name}, invitation.appointment.get_absolute_url())
    return _dialog(request, "nphd/cancel_confirm.html", {
        "appointment": invitation.appointment, "invitation": invitation, "form": form,
        "texted": invitation.notified_at is not None,
        "possible": invitation.is_active and invitation.appointment.cancelled_at is None,
        "action": reverse("nphd:invitation_cancel", args=[pk])})


@admin_required
def invitation_resend(request, pk):
    invitation = get_object_or_404(Invitation.objects.select_related("appointment__petugas", "grant__institution"),
                                   pk=pk)
    appointment = invitation.appointment
    if request.method == "POST":
        try:
            services.invitation_resend(invitation=invitation, by=request.user)
        except ValidationError as error:
            return _done(request, " ".join(error.messages), appointment.get_absolute_url(), level=messages.ERROR)
        return _done(request, _("The invitation text has been sent again to %(institution)s.") % {
            "institution": invitation.grant.institution.name}, appointment.get_absolute_url())
    return _dialog(request, "nphd/resend_confirm.html", {
        "appointment": appointment, "invitation": invitation,
        "refusal": services.resend_refusal(appointment, invitation),
        "action": reverse("nphd:invitation_resend", args=[pk])})

