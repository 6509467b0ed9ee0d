"""Readable, translated reasons for the error codes gateways and the worker record on messages.

Gateways record two things when a message fails: a code (``absent_subscriber``, an SMPP command status such as
``ESME_RINVDSTADR``, a receipt state such as ``undeliv``, a Gammu status such as ``DeliveryFailed``) and their own
words in English (``Absent subscriber``, ``Undeliverable (err 001)``). Staff see one translated phrase per known
reason (``reason_text``); the gateway's own words are shown only on the Admin's status page (``raw_reason``).
"""

import math
import re

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

REASONS = {
    "absent_subscriber": _("Number not active: the phone is off or out of reach"),
    "unknown_subscriber": _("Unknown number"),
    "invalid_dest": _("Invalid destination number"),
    "throttled": _("The gateway asked us to slow down; retrying"),
    "gateway_error": _("The gateway could not be reached; retrying"),
    "no_answer": _("The gateway gave no answer; retrying"),
    "lease_expired": _("The worker stopped before recording the result; retrying"),
    "attempts": _("Too many failed attempts"),
    "rejected": _("Rejected by the operator"),
    "expired": _("Expired: the phone was off for too long"),
    # the worker and the gateways' own codes (abah/sms/daemon.py, backends/smpp.py, backends/gammu.py)
    "taken_back": _("The gateway was down; taken back to be sent through another one"),
    "unrecorded": _("The result of sending could not be recorded; retrying"),
    "id_reused": _("The gateway restarted and gave this message's id to a newer one"),
    "smpp_down": _("The connection to the gateway is down; retrying"),
    "smpp_in_flight": _("The connection dropped while the message was being sent; retrying"),
    "encoding": _("The text cannot be written as an SMS"),
    "undeliv": _("Not delivered: the operator could not deliver it"),
    "deleted": _("Deleted by the operator before delivery"),
    "unknown": _("The operator does not know whether it was delivered"),
    "rejectd": _("Rejected by the operator"),
    "deliveryfailed": _("Not delivered: the operator could not deliver it"),
    "sendingerror": _("The modem could not send the message"),
    "error": _("The modem reported an error while sending"),
    "call_barred": _("The number does not accept SMS (barred)"),
    "subscriber_busy": _("The phone is busy; the operator will try again"),
    "memory_full": _("The phone's message memory is full"),
    "system_failure": _("The operator's network failed"),
    "too_long": _("The message is too long for the gateway"),
    "sender_refused": _("The gateway refused the sender name"),
    "gateway_refused": _("The gateway refused the message"),
    "login_refused": _("The gateway refused our login"),
}

# SMPP 3.4 command statuses (backends/smpp.py stores their names without "SMPP_") grouped by meaning.
_SMPP_STATUSES = {
    "ESME_RINVDSTADR": "invalid_dest", "ESME_RINVDSTTON": "invalid_dest", "ESME_RINVDSTNPI": "invalid_dest",
    "ESME_RINVNUMDESTS": "invalid_dest",
    "ESME_RTHROTTLED": "throttled", "ESME_RMSGQFUL": "throttled",
    "ESME_RINVMSGLEN": "too_long",
    "ESME_RINVSRCADR": "sender_refused", "ESME_RINVSRCTON": "sender_refused", "ESME_RINVSRCNPI": "sender_refused",
    "ESME_RBINDFAIL": "login_refused", "ESME_RINVPASWD": "login_refused", "ESME_RINVSYSID": "login_refused",
    "ESME_RINVBNDSTS": "login_refused",
    "ESME_RDELIVERYFAILURE": "undeliv",
    "ESME_RX_R_APPN": "rejected",
}

# The gateway's own words (lower case, without "(err …)" / "(TP-Status …)") for codes we do not know.
_RAW_WORDS = {
    "absent subscriber": "absent_subscriber",
    "absent subscriber for sm": "absent_subscriber",
    "unknown subscriber": "unknown_subscriber",
    "unidentified subscriber": "unknown_subscriber",
    "call barred": "call_barred",
    "teleservice not provisioned": "call_barred",
    "subscriber busy for mt sms": "subscriber_busy",
    "memory capacity exceeded": "memory_full",
    "system failure": "system_failure",
    "undeliverable": "undeliv",
    "expired before it could be delivered": "expired",
    "rejected by the network": "rejectd",
    "deleted by the smsc": "deleted",
    "delivery state unknown": "unknown",
    "the delivery report says the message was not delivered": "deliveryfailed",
    "the modem could not send the message": "sendingerror",
    "gammu reported an error while sending": "error",
    "too many attempts": "attempts",
    "the worker stopped before recording the result": "lease_expired",
    "the gateway gave no answer": "no_answer",
    "the smsc gave no answer": "no_answer",
}
_DETAIL = re.compile(r"\s*\((?:err|tp-status)[^)]*\)\s*$", re.IGNORECASE)

NO_REPORT = "no_report"  # no final delivery report within SMS_REPORT_EXPIRY_HOURS (abah/sms/expiry.py)


def no_report_reason(hours: float) -> str:
    """The reason of a message that expired without a delivery report, in the active language."""
    count = f"{hours:g}"
    return ngettext(
        "No delivery report from the gateway within %(hours)s hour: the gateway does not say whether it arrived",
        "No delivery report from the gateway within %(hours)s hours: the gateway does not say whether it arrived",
        math.ceil(hours),
    ) % {"hours": count}


def reason_key(code: str, raw: str = "") -> str:
    """The key of REASONS a recorded (code, words) pair means, or "" when neither is known."""
    code = (code or "").strip()
    if code in REASONS:
        return code
    if code.lower() in REASONS:  # receipt states (undeliv) and Gammu statuses (DeliveryFailed)
        return code.lower()
    if code.upper() in _SMPP_STATUSES:
        return _SMPP_STATUSES[code.upper()]
    words = _DETAIL.sub("", (raw or "").strip()).rstrip(".").lower()
    if words in _RAW_WORDS:
        return _RAW_WORDS[words]
    if code.upper().startswith("ESME_"):
        return "gateway_refused"
    return ""


def reason_text(code: str, raw: str = "") -> str:
    """One translated phrase for what a gateway or the worker recorded; never the gateway's English words."""
    if code == NO_REPORT:
        # Stored in English with the hours in force when it expired; shown in the reader's language.
        found = re.search(r"\d+(?:\.\d+)?", raw or "")
        if found:
            return no_report_reason(float(found.group()))
        return str(_("No report"))
    key = reason_key(code, raw)
    if key:
        return str(REASONS[key])
    if code or raw:
        return str(_("Not delivered (the Admin sees the gateway's reason on the SMS Center status page)"))
    return ""


def raw_reason(code: str, raw: str = "") -> str:
    """What the gateway itself recorded ("ESME_RINVDSTADR: invalid destination address"): the Admin's status
    page only, next to the translated phrase."""
    code, raw = (code or "").strip(), (raw or "").strip()
    if code == NO_REPORT:
        return ""
    if raw and code and code.lower() not in raw.lower().replace(" ", "_"):
        return f"{code}: {raw}"
    return raw or code
