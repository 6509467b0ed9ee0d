"""The "Undangan NPHD" action of a grant card (search results, grant page), enabled through grants' hook."""

from django.urls import reverse
from django.utils.translation import gettext as _

from . import access
from .services import INVITABLE


def invite_action(request, grant) -> dict:
    """Overrides of the card's placeholder: the dialog URL, or a disabled button with the reason."""
    if not access.can_invite(request.user, grant):
        return {"enabled": False, "title": _("Only the assigned officer or an Admin may do this.")}
    if grant.status not in INVITABLE:
        return {"enabled": False, "title": _("Only a grant whose SK has been issued can be invited.")}
    return {"url": reverse("nphd:invite", args=[grant.pk]), "dialog": True, "enabled": True, "title": ""}
