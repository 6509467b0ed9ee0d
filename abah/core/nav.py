"""Navbar registry: apps add their menu entries and navbar badges at start-up (in AppConfig.ready)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class MenuItem:
    menu: str  # the dropdown it belongs to: "hibah", "sms", "admin"
    label: str
    url_name: str
    order: int = 100
    admin_only: bool = False
    icon: str = ""
    # Shown only while ``when()`` is true, asked on every page (a setting can change without a restart).
    when: Callable[[], bool] | None = None


@dataclass
class Registry:
    items: list[MenuItem] = field(default_factory=list)
    search_url_name: str = ""
    badges: dict = field(default_factory=dict)


registry = Registry()

MENUS = ("hibah", "sms", "admin")


def register_menu(item: MenuItem) -> None:
    if item not in registry.items:
        registry.items.append(item)


def set_search(url_name: str) -> None:
    registry.search_url_name = url_name


def register_badge(name: str, fn) -> None:
    """``fn(request) -> dict`` with keys count, url and items (the latest few, for the dropdown)."""
    registry.badges[name] = fn


def menus_for(user) -> dict[str, list[dict]]:
    from .access import is_admin

    admin = is_admin(user)
    result: dict[str, list[dict]] = {menu: [] for menu in MENUS}
    for item in sorted(registry.items, key=lambda i: i.order):
        if item.admin_only and not admin:
            continue
        if item.when is not None and not item.when():
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        result.setdefault(item.menu, []).append({"label": item.label, "url": url, "icon": item.icon})
    return result
