"""Phone numbers for SMS, on phonenumbers: parse, validate mobile-only, E.164, masking for display."""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from phonenumbers import PhoneNumberType

DEFAULT_REGION = "ID"
_HOME_CODE = 62
_HOME_PREFIX = f"+{_HOME_CODE}"
MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_ALLOWED_CHARS = set("0123456789+-. ()/")


@dataclass(frozen=True)
class Country:
    region: str
    code: int
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} (+{self.code})"


@lru_cache(maxsize=8)
def _countries(lang: str) -> tuple[Country, ...]:
    from babel import Locale

    names = Locale.parse(lang).territories  # CLDR, maintained upstream: no hand-typed names
    result = [
        Country(region, phonenumbers.country_code_for_region(region), names.get(region) or region)
        for region in phonenumbers.SUPPORTED_REGIONS
    ]
    result.sort(key=lambda c: (c.region != DEFAULT_REGION, _sort_key(c.name), c.region))
    return tuple(result)


def _sort_key(name: str) -> str:
    """"Åland", "Côte d’Ivoire", "Curaçao" sort among their plain letters, case ignored."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)).casefold()


def countries(language: str = "id") -> list[Country]:
    """Every region phonenumbers can dial, named from Babel's CLDR data in the given language (Indonesian or
    English), Indonesia (+62) first, then by localised name."""
    return list(_countries("id" if (language or "id").lower().startswith("id") else "en"))


def country_choices(language: str = "id") -> list[tuple[str, str]]:
    return [(c.region, c.label) for c in countries(language)]


_SEPARATORS = re.compile(r"[\s/|&+,;]+")
_CANONICAL = re.compile(r"\+[1-9]\d{6,14}")  # an E.164 string: what stored contacts and bulk queues pass
_JOINING_WORDS = re.compile(r"\b(dan|atau|and|or)\b", re.IGNORECASE)


def _several_numbers(text: str) -> bool:
    """"0812… / 0813…", "0812…, 0813…", "0812… dan 0813…": more than one run of 8+ digits, or more digits
    than any one number has; the usual ways of writing one number ("0812 3090 0095", "+62 812-…") pass."""
    if sum(ch.isdigit() for ch in text) > 16 or text.count("+") > 1:
        return True
    chunks = _SEPARATORS.split(_JOINING_WORDS.sub(" ", text))
    return sum(1 for chunk in chunks if sum(ch.isdigit() for ch in chunk) >= 8) > 1


def parse_mobile(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of exactly one valid mobile number, or raise a translated ValidationError.

    Accepts 08…, +62…, 62… and 8… for Indonesia; refuses letters, several numbers and landlines.
    """
    text = (raw or "").strip()
    if _CANONICAL.fullmatch(text):  # already E.164: none of the free-form rules below can refuse it
        return _checked(_classify(text, (region or DEFAULT_REGION).upper()))
    if not text:
        raise ValidationError(_("Enter a mobile phone number."), code="empty")
    if _several_numbers(text):  # before the letters rule: "0812… dan 0813…" is two numbers, not letters
        raise ValidationError(_("Enter exactly one mobile phone number."), code="several")
    if any(ch.isalpha() for ch in text):
        raise ValidationError(_("A phone number may not contain letters."), code="letters")
    if not set(text) <= _ALLOWED_CHARS:
        raise ValidationError(_("The phone number contains characters that are not allowed."), code="chars")
    region = (region or DEFAULT_REGION).upper()
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if region == "ID" and digits.startswith("8"):
        digits = "0" + digits
    elif region == "ID" and digits.startswith("62") and not digits.startswith("+"):
        digits = "+" + digits
    return _checked(_classify(digits, region))


def _checked(classified: tuple[bool, str]) -> str:
    ok, result = classified
    if ok:
        return result
    if result == "not_mobile":
        raise ValidationError(
            _("This is not a mobile number (a landline cannot receive SMS)."), code="not_mobile"
        )
    raise ValidationError(_("This is not a valid phone number."), code="invalid")


@lru_cache(maxsize=65_536)
def _classify(digits: str, region: str) -> tuple[bool, str]:
    """(True, E.164) for a mobile number, else (False, error code). Cached: reminders and broadcasts text the
    same institutions again and again, and phonenumbers' pattern matching dominates a bulk queue.

    number_type() is UNKNOWN for a number that matches none of its country's patterns, so it answers
    "valid?" and "mobile?" in one pass (is_valid_number would run the same matching a second time)."""
    if digits.startswith(_HOME_PREFIX) and digits[3:].isdigit() and digits[3:4] not in ("", "0") and len(digits) <= 16:
        # "+62…" already in E.164 (stored contacts, bulk queues): the number is built directly, without
        # phonenumbers' free-form parsing; number_type() below still decides. tests/sms/test_phone.py checks
        # that both ways agree.
        number = phonenumbers.PhoneNumber(country_code=_HOME_CODE, national_number=int(digits[3:]))
    else:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            return False, "invalid"
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return False, "invalid"
    if kind not in MOBILE_TYPES:
        return False, "not_mobile"
    return True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_valid_mobile(raw: str, region: str = DEFAULT_REGION) -> bool:
    try:
        parse_mobile(raw, region)
    except ValidationError:
        return False
    return True


def mask(e164: str) -> str:
    """+628123090095 → +62*****0095 (country code and the last four digits stay visible)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
        prefix = f"+{number.country_code}"
    except phonenumbers.NumberParseException:
        prefix = e164[:3]
    return f"{prefix}*****{e164[-4:]}"


@lru_cache(maxsize=8192)
def national(e164: str) -> str:
    """+628123090095 → 0812-3090-095 style national display. Cached: a list or a thread shows the same few numbers
    on every row, and parsing one costs phonenumbers about 0.1 ms."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def region_of(e164: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or DEFAULT_REGION
    except phonenumbers.NumberParseException:
        return DEFAULT_REGION
