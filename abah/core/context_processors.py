"""Template context shared by every page: site name, menus, search target and navbar badges."""

from django.conf import settings
from django.urls import reverse

from .nav import menus_for, registry


class LazyBadges(dict):
    """The navbar badges, each counted when a template first asks for it: a full page shows them all (four queries);
    an htmx fragment (a Pesan dialog, its poll every few seconds) shows none and counts nothing."""

    def __init__(self, request):
        super().__init__()
        self.request = request

    def __missing__(self, name):
        fn = registry.badges.get(name)
        if fn is None:
            raise KeyError(name)
        self[name] = value = fn(self.request)
        return value

    def __contains__(self, name):
        return name in registry.badges


def site(request):
    context = {"SITE_NAME": settings.SITE_NAME}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    context["menus"] = menus_for(user)
    context["search_url"] = reverse(registry.search_url_name) if registry.search_url_name else ""
    context["badges"] = LazyBadges(request)
    return context
