"""Template context shared by every page: site name, menus, search target and navbar badges."""

from django.conf import settings
from django.urls import reverse

from .nav import menus_for, registry


def site(request):
    context = {"SITE_NAME": settings.SITE_NAME}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    context["menus"] = menus_for(user)
    context["search_url"] = reverse(registry.search_url_name) if registry.search_url_name else ""
    context["badges"] = {name: fn(request) for name, fn in registry.badges.items()}
    return context
