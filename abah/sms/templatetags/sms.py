"""Template filters of the SMS Center: relative times, masked and national numbers, error reasons."""

from django import template

from abah.sms import humanize, phone
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
