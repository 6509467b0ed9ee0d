"""Sections other apps add to the grant page, without the grants app knowing them.

``register_panel(fn, order=100)`` with ``fn(request, grant) -> str | None`` (rendered, escaped HTML; None hides
it). grant_detail.html shows them with ``{% load grant_panels %}{% grant_panels %}``.
"""

from django.utils.safestring import mark_safe

_PANELS: list[tuple[int, object]] = []


def register_panel(fn, order: int = 100) -> None:
    if all(existing is not fn for _order, existing in _PANELS):
        _PANELS.append((order, fn))
        _PANELS.sort(key=lambda item: item[0])


def render_panels(request, grant) -> str:
    return mark_safe("".join(html for _order, fn in _PANELS if (html := fn(request, grant))))  # noqa: S308
