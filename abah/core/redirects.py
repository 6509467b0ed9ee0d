"""Where a view may send the browser back to: only this site's own paths (no open redirect).

A ``next`` parameter (or a Referer) is followed only when it is a URL of this host, with the request's scheme
when the request is secure; anything else (``https://evil.example``, ``//evil.example``, ``javascript:…``,
``/\\evil.example``) falls back to the view's default. Every view that redirects to a user-given URL uses
``safe_next`` or ``safe_url``.
"""

from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from .text import clean_text


def safe_url(request, url, default: str = "/") -> str:
    """``url`` when it is safe to redirect to from ``request``, else ``resolve_url(default)``."""
    url = clean_text(url).strip() if isinstance(url, str) else ""
    # A path of this site ("/…") or an absolute http(s) URL of this host: a bare word ("²", "foo") would be read
    # by redirect() as a URL name and fail.
    if url and (url.startswith("/") or url.lower().startswith(("http://", "https://"))) and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return resolve_url(default)


def safe_next(request, default: str = "/", *, name: str = "next") -> str:
    """The ``next`` parameter (POST first, then GET) when it is safe, else ``default`` (a URL or a URL name)."""
    value = request.POST.get(name) if request.method == "POST" else None
    if not value:
        value = request.GET.get(name)
    return safe_url(request, value, default)


def redirect_next(request, default: str = "/", *, name: str = "next"):
    """A redirect to ``safe_next(request, default)``."""
    return redirect(safe_next(request, default, name=name))
