"""Readable, translated reasons for the error codes gateways and the worker record on messages."""

from django.utils.translation import gettext_lazy as _

REASONS = {
    "absent_subscriber": _("Number not active (absent subscriber)"),
    "unknown_subscriber": _("Unknown number"),
    "invalid_dest": _("Invalid destination number"),
    "throttled": _("The gateway asked us to slow down; retrying"),
    "gateway_error": _("The gateway could not be reached; retrying"),
    "no_answer": _("The gateway gave no answer; retrying"),
    "lease_expired": _("The worker stopped before recording the result; retrying"),
    "attempts": _("Too many failed attempts"),
    "rejected": _("Rejected by the operator"),
    "expired": _("Expired: the phone was off for too long"),
}


def reason_text(code: str, raw: str = "") -> str:
    """The translated reason for a known code; otherwise the gateway's own words."""
    if code in REASONS:
        return str(REASONS[code])
    return raw or code
