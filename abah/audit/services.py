"""Writing the audit log: ``record(request_or_user, action, target=…, detail=…, count=…)`` — never breaks the caller.

Views call it (or the app's middleware and signal receivers call it for them). The address is the request's
REMOTE_ADDR or, when ``settings.BEHIND_PROXY``, the address the proxy appended last to X-Forwarded-For (the
entries before it are whatever the client sent, so they are not trusted). Signal receivers that get a user but
no request (a manual SMS, sent after the commit) use the request being served on this thread, set by
``AuditMiddleware``, when it belongs to the same user.
"""

import contextvars
import ipaddress
import logging

from django.conf import settings
from django.db import transaction

from abah.core.text import clean_text

from .models import AuditEntry

log = logging.getLogger("abah.audit")
Action = AuditEntry.Action
MAX_COUNT = 2**31 - 1  # PositiveIntegerField on every database

_current_request: contextvars.ContextVar = contextvars.ContextVar("abah_audit_request", default=None)


def set_current_request(request):
    return _current_request.set(request)


def reset_current_request(token) -> None:
    _current_request.reset(token)


def current_request():
    return _current_request.get()


def _valid_ip(value: str) -> str | None:
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.9:5123
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request) -> str | None:
    meta = getattr(request, "META", {}) or {}
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = [part for part in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
        if forwarded:
            address = _valid_ip(forwarded[-1])
            if address:
                return address
    return _valid_ip(str(meta.get("REMOTE_ADDR", "")))


def _target(target) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, str):
        return target[:64], ""
    if isinstance(target, tuple):
        kind, pk = target
        return str(kind)[:64], str(pk)[:64]
    meta = getattr(target, "_meta", None)
    if meta is not None:
        return meta.label_lower[:64], str(target.pk)[:64]
    return type(target).__name__[:64], ""


def record(request_or_user, action, *, target=None, detail: str = "", count: int | None = None,
           username: str = "", at=None, savepoint: bool = True) -> AuditEntry | None:
    """Append one entry; returns it, or None when it could not be written (the failure is logged, never raised).

    ``request_or_user``: an HttpRequest (its user and address), a user, or None (the system).
    ``target``: a model instance, a ("type", id) pair or a type name. ``username``: for a failed login, the
    name that was tried. Inside a transaction the entry is written in a savepoint, so a failure never aborts
    the caller's transaction; ``savepoint=False`` only where no transaction of the application can be open
    (the audit middleware, after the response).
    """
    try:
        if str(action) not in Action.values:
            raise ValueError(f"unknown audit action {action!r}")
        request = user = None
        if hasattr(request_or_user, "META"):
            request = request_or_user
            user = getattr(request, "user", None)
        else:
            user = request_or_user
            candidate = current_request()
            if user is not None and candidate is not None and getattr(candidate, "user", None) == user:
                request = candidate
        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
        target_type, target_id = _target(target)
        entry = AuditEntry(
            user=user,
            username=clean_text(str(username or (user.get_username() if user is not None else "")))[:150],
            address=client_address(request) if request is not None else None,
            action=str(action),
            target_type=target_type,
            target_id=target_id,
            detail=" ".join(clean_text(str(detail or "")).split())[:255],
            count=None if count is None or count < 0 else min(int(count), MAX_COUNT),
        )
        if at is not None:
            entry.at = at
        if request is not None and request is request_or_user:
            request._audit_recorded = True  # the middleware adds no second entry for this request
        if savepoint and transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint: a failure never poisons the caller's transaction
                entry.save()
        else:
            entry.save()
        return entry
    except Exception:  # the audit log must never break what it records
        log.exception("audit entry %r could not be written", action)
        return None
