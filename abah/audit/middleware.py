"""Audit of the pages that show personal data, in one table here instead of a line in each app's views.

``READS`` maps a URL name to what opening it (GET, answered below 400) means for the audit log: the pages that
reveal an institution's full contact number, the SMS Center's message list and its search, the grants search.
Writes (exports with their counts, imports, Admin actions) are recorded by the views themselves, which know
what they did; an Admin-only POST whose view records nothing is recorded here ("Admin action" naming the view)
unless the view answered with an error message; manual sends and logins by signal receivers (``receivers.py``).
"""

from abah.core.access import required_role
from abah.core.text import clean_text

from . import services

Action = services.Action


def _q(request) -> str:
    return " ".join(clean_text(request.GET.get("q", "")).split())[:200]


def _grant_search(request, kwargs):
    if request.GET.get("export"):
        return None  # the export records itself, with its row count
    q = _q(request)
    if not q:
        return None
    return Action.SEARCH, "grants.grant", "", f"q={q} scope={request.GET.get('scope') or 'aktif'}"[:255]


def _message_list(request, kwargs):
    if request.GET.get("partial") == "rows":
        return None  # the next page of a list already recorded
    q = _q(request)
    filters = " ".join(f"{key}={clean_text(request.GET.get(key, ''))[:40]}"
                       for key in ("kind", "direction", "status", "thread", "from", "to") if request.GET.get(key))
    if q:
        return Action.SEARCH, "sms.message", "", f"q={q} {filters}".strip()
    return Action.VIEW_MESSAGES, "sms.message", "", filters


def _institution_contact(request, kwargs):
    return Action.VIEW_CONTACT, "grants.institution", kwargs.get("pk", ""), ""


def _grant_contact(request, kwargs):
    return Action.VIEW_CONTACT, "grants.grant", kwargs.get("pk", ""), ""


def _conversation(request, kwargs):
    return Action.VIEW_CONTACT, "sms.conversation", kwargs.get("pk", ""), ""


def _appointment(request, kwargs):
    return Action.VIEW_CONTACT, "nphd.appointment", kwargs.get("pk", ""), ""


READS = {
    "grants:search": _grant_search,
    "grants:grant_detail": _grant_contact,  # the contact person and number
    "grants:institution_detail": _institution_contact,  # the full number (E.164) and the earlier ones
    "grants:contact_edit": _institution_contact,  # the Kontak dialog
    "sms:message_list": _message_list,  # UCP > Pesan, its search
    "sms:conversation_dialog": _conversation,  # the Pesan dialog: the thread and the number
    "nphd:appointment_detail": _appointment,  # each invitee's contact person and number
}


# Admin-only POST views that change nothing (a live preview).
NOT_ACTIONS = {"automation:template_preview"}


def _refused(request) -> bool:
    """Whether the view queued an error message for the user in this request (the action was refused)."""
    from django.contrib.messages import constants

    storage = getattr(request, "_messages", None)
    queued = getattr(storage, "_queued_messages", None) or []
    return any(message.level >= constants.ERROR for message in queued)


def _admin_action(request, match, response) -> None:
    """Every Admin-only POST that succeeded and that its view did not record itself (NPHD cancel/resend, attaching
    an unknown sender, cancelling an import …): one entry "Admin action" naming the view."""
    if match.view_name in NOT_ACTIONS or required_role(match.func) != "admin":
        return
    if getattr(request, "_audit_recorded", False) or _refused(request):
        return
    target_id = match.kwargs.get("pk", "")
    services.record(request, Action.ADMIN, target=(match.view_name, target_id),
                    detail=f"{match.view_name} HTTP {response.status_code}", savepoint=False)


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = services.set_current_request(request)
        try:
            response = self.get_response(request)
        finally:
            services.reset_current_request(token)
        match = getattr(request, "resolver_match", None)
        if request.method == "POST" and response.status_code < 400 and match is not None:
            try:
                _admin_action(request, match, response)
            except Exception:  # never break the answer for its audit entry
                services.log.exception("audit: recording %s failed", match.view_name)
        if request.method == "GET" and response.status_code < 400:
            describe = READS.get(match.view_name) if match is not None else None
            if describe is not None and getattr(request, "user", None) is not None and request.user.is_authenticated:
                try:
                    what = describe(request, match.kwargs)
                except Exception:  # never break the page for its audit entry
                    services.log.exception("audit: describing %s failed", match.view_name)
                    what = None
                if what is not None:
                    action, target_type, target_id, detail = what
                    services.record(request, action, target=(target_type, target_id), detail=detail,
                                    savepoint=False)  # after the view: no transaction of the application
        return response
