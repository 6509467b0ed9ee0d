"""Template filters of the SMS Center: relative times, masked and national numbers, error reasons."""

from django import template

from abah.sms import errors, humanize, phone
from abah.sms.errors import reason_text

register = template.Library()


@register.filter
def relative(value):
    return humanize.relative(value)


@register.filter
def national(value):
    return phone.national(value) if value else ""


@register.filter
def masked(value):
    return phone.mask(value)


@register.filter
def reason(message):
    return reason_text(message.error_code, message.error_reason)


@register.filter
def raw_reason(message):
    """The gateway's own words for a failure: the Admin's status page only."""
    return errors.raw_reason(message.error_code, message.error_reason)


@register.filter
def gateway_words(words):
    """A translated phrase for words a gateway recorded without our code (the simulator's phones)."""
    return reason_text("", words)


@register.filter
def backend_label(backend):
    """A gateway back end's human name ("Simulator", "SMPP", "Modem (Gammu)"), never its class name."""
    from abah.sms.backends.health import backend_label as label

    return label(backend)
