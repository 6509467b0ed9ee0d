"""Signal receivers: logins, logouts and failed logins (django.contrib.auth), manual SMS (abah.sms)."""

from abah.core.text import clean_text
from abah.sms.phone import mask

from . import services

Action = services.Action


def on_logged_in(sender, request, user, **kwargs):
    services.record(request if request is not None else user, Action.LOGIN, target=user)


def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        services.record(request if request is not None else user, Action.LOGOUT, target=user)


def on_login_failed(sender, credentials, request=None, **kwargs):
    tried = clean_text(str((credentials or {}).get("username", "")))[:150]
    services.record(request, Action.LOGIN_FAILED, username=tried, detail=tried)


def on_message_typed(sender, message, user=None, **kwargs):
    title = message.conversation.title if message.conversation_id else ""
    services.record(user, Action.SEND, target=message,
                    detail=f"{mask(message.number)} {title}".strip())
