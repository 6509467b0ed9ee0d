"""The send window in templates: what a queued text's mark says ("antre", "menunggu jam kirim · 08:00 WIB")."""

from django import template

from abah.sms import window

register = template.Library()


@register.filter
def send_state(message):
    """{"waiting": bool, "text": …} for an outgoing text not yet accepted by a gateway; None otherwise (or no text)."""
    if not message:
        return None
    return window.message_state(message)
