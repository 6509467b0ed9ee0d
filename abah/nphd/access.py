"""Object-level rules of the NPHD invitations (role checks are in abah.core.access).

- Invite an institution: whoever may change the grant (its petugas or an Admin).
- See, edit and process an appointment: its petugas or an Admin.
- Cancel an invitation or an appointment, resend a notification: Admin only.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from abah.core.access import is_admin, is_staff_member
from abah.grants import access as grant_access


def can_invite(user, grant) -> bool:
    return grant_access.can_change_grant(user, grant)


def can_manage(user, appointment) -> bool:
    """Open, edit (Sunting) and Proses: the appointment's petugas or an Admin."""
    if is_admin(user):
        return True
    return is_staff_member(user) and appointment.petugas_id is not None and appointment.petugas_id == user.pk


def can_cancel(user) -> bool:
    return is_admin(user)


def can_resend(user) -> bool:
    return is_admin(user)


def appointment_or_403(request, pk, queryset=None):
    """The appointment ``pk`` (404 if unknown), or 403 when the user may not manage it."""
    from .models import Appointment

    appointment = get_object_or_404(queryset if queryset is not None else Appointment.objects.select_related(
        "petugas"), pk=pk)
    if not can_manage(request.user, appointment):
        raise PermissionDenied
    return appointment


def invitation_or_403(request, pk):
    from .models import Invitation

    invitation = get_object_or_404(
        Invitation.objects.select_related("appointment__petugas", "grant__institution"), pk=pk)
    if not can_manage(request.user, invitation.appointment):
        raise PermissionDenied
    return invitation
