"""The audit log. ``from abah import audit; audit.record(request, "export", target=…, count=n)`` — never raises."""


def record(request_or_user, action, **kwargs):
    """Append one audit entry (see abah.audit.services.record); a failure is logged, never raised."""
    from .services import record as _record

    return _record(request_or_user, action, **kwargs)
