"""Role checks for views, in one place: every view that needs more than a login uses these.

Login itself is enforced for every view by Django's LoginRequiredMiddleware; public views are
marked with ``login_not_required``.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied


def is_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.role == "admin" or user.is_superuser))


def is_staff_member(user) -> bool:
    """Admin or Petugas with an active, approved account."""
    return bool(user.is_authenticated and user.is_active and (user.role in {"admin", "petugas"} or user.is_superuser))


def admin_required(view):
    """Answer 403 unless the user is an Admin."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapper.required_role = "admin"
    return wrapper


def staff_required(view):
    """Answer 403 unless the user is an approved Admin or Petugas."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapper.required_role = "staff"
    return wrapper


def login_only(view):
    """Any signed-in user (the middleware already insists on a login); declares the rule for the matrix test."""
    view.required_role = "user"
    return view


def required_role(view) -> str:
    """The rule a view declares: "public", "user", "staff" or "admin" (unknown views return "")."""
    if getattr(view, "login_required", True) is False:
        return "public"
    return getattr(view, "required_role", "")
