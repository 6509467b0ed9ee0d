"""``/sms/callback/<gateway>/<token>/``: delivery reports and inbound messages pushed by an HTTP gateway.

Answered fast and never with a 500: the call is checked (the secret token of the URL, then the provider's
signature and replay window where it has them), read into CallbackEvent rows, stored, and acknowledged; the
gateway's worker applies them (HttpBackend.poll), so the provider's request never waits for our processing.
A refused call changes nothing and is logged with its reason; a call that arrives while the database is away
gets 503, which providers retry.
"""

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from abah.core.text import clean_text

from . import conf
from .backends import get_backend
from .backends.http import CallbackRefused
from .dbutil import db_datetime, insert_rows
from .models import CallbackEvent

log = logging.getLogger("abah.sms.callbacks")

COLUMNS = ["gateway", "kind", "gateway_message_id", "delivered", "error_code", "error_reason", "number", "text",
           "received_at"]
MAX_BODY = 256 * 1024  # a provider's callback is a few hundred bytes; a batch of reports a few dozen kilobytes


def _refuse(request, gateway: str, reason: str, status: int) -> HttpResponse:
    log.warning("callback for gateway %r from %s refused (%d): %s", clean_text(gateway)[:40],
                request.META.get("REMOTE_ADDR", "?"), status, reason)
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def callback(request, gateway: str, token: str):
    if gateway not in conf.gateways():
        return _refuse(request, gateway, "unknown gateway", 404)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _refuse(request, gateway, f"body of {length} bytes (at most {MAX_BODY})", 413)
    try:
        backend = get_backend(gateway)
    except Exception as error:  # a configuration the worker would refuse too
        return _refuse(request, gateway, f"gateway not usable: {error}", 404)
    if not hasattr(backend, "parse_callback"):
        return _refuse(request, gateway, "this gateway takes no callbacks", 404)
    try:
        if len(request.body) > MAX_BODY:
            return _refuse(request, gateway, f"body over {MAX_BODY} bytes", 413)
        backend.verify_callback(request, token)
        events = backend.parse_callback(request)
    except CallbackRefused as refused:
        return _refuse(request, gateway, str(refused), refused.status)
    except Exception as error:  # noqa: BLE001 - whatever the body holds, the provider gets an answer, not a 500
        return _refuse(request, gateway, f"unreadable callback: {error.__class__.__name__}", 400)
    now = db_datetime(timezone.now())
    rows = [(gateway, event["kind"], clean_text(event["gateway_message_id"]), event.get("delivered", False),
             clean_text(event.get("error_code", "")), clean_text(event.get("error_reason", "")),
             clean_text(event.get("number", "")), clean_text(event.get("text", "")), now) for event in events]
    try:
        insert_rows(CallbackEvent, COLUMNS, rows)  # one statement, without building model instances
    except DatabaseError as error:
        log.error("callback for gateway %s could not be stored (%s): the provider will retry", gateway, error)
        return HttpResponse("try again later", status=503, content_type="text/plain; charset=utf-8")
    body, content_type = backend.callback_answer()
    return HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
