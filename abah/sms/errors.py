"""Readable, translated reasons for the error codes gateways and the worker record on messages."""

import math
import re

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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


NO_REPORT = "no_report"  # no final delivery report within SMS_REPORT_EXPIRY_HOURS (abah/sms/expiry.py)


def no_report_reason(hours: float) -> str:
    """The reason of a message that expired without a delivery report, in the active language."""
    count = f"{hours:g}"
    return ngettext(
        "No delivery report from the gateway within %(hours)s hour: the gateway does not say whether it arrived",
        "No delivery report from the gateway within %(hours)s hours: the gateway does not say whether it arrived",
        math.ceil(hours),
    ) % {"hours": count}


def reason_text(code: str, raw: str = "") -> str:
    """The translated reason for a known code; otherwise the gateway's own words."""
    if code == NO_REPORT:
        # Stored in English with the hours in force when it expired; shown in the reader's language.
        found = re.search(r"\d+(?:\.\d+)?", raw or "")
        if found:
            return no_report_reason(float(found.group()))
        return raw or str(_("No report"))
    if code in REASONS:
        return str(REASONS[code])
    return raw or code
