"""Parsing contact numbers with abah.sms.phone, with the error messages in this app's catalogue too."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from abah.sms.phone import parse_mobile

MESSAGES = {
    "empty": _("Enter a mobile phone number."),
    "letters": _("A phone number may not contain letters."),
    "several": _("Enter exactly one mobile phone number."),
    "chars": _("The phone number contains characters that are not allowed."),
    "invalid": _("This is not a valid phone number."),
    "not_mobile": _("This is not a mobile number (a landline cannot receive SMS)."),
}


def parse_contact_number(raw: str, region: str = "ID") -> str:
    """E.164 of exactly one mobile number, or a ValidationError with a translated message."""
    try:
        return parse_mobile(raw, region or "ID")
    except ValidationError as error:
        code = getattr(error, "code", None) or (error.error_list[0].code if hasattr(error, "error_list") else None)
        if code in MESSAGES:
            raise ValidationError(MESSAGES[code], code=code) from None
        raise
