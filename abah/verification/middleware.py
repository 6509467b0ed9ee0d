"""Sends a signed-in user without a verified phone to Perbaruhi Kontak, on every page but a few."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

# Views a user may reach before verifying (public views — login, logout, language, health — always may).
EXEMPT_VIEWS = {("core", "media")}


class PhoneVerificationMiddleware:
    """Place after AuthenticationMiddleware / LoginRequiredMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt_prefixes = tuple(p for p in (settings.STATIC_URL, settings.MEDIA_URL) if p and p != "/")

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.phone_verified:
            return None
        if getattr(view_func, "login_required", True) is False:
            return None
        if request.path_info.startswith(self.exempt_prefixes):
            return None
        match = request.resolver_match
        if match is not None and (match.namespace == "verification" or (match.namespace, match.url_name) in EXEMPT_VIEWS):
            return None
        url = reverse("verification:contact")
        if getattr(request, "htmx", False):
            # An htmx request would swap the redirect target into a fragment; make the browser navigate.
            return HttpResponseClientRedirect(url)
        return redirect(url)
