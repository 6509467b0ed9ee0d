"""A registry of dashboard sections, so apps that stand on core can add theirs without core knowing them."""

from collections.abc import Callable

_SECTIONS: list[tuple[int, Callable]] = []


def register_section(order: int):
    """Decorate ``fn(request) -> dict | None`` with keys template and context; None hides the section."""

    def decorator(fn):
        _SECTIONS.append((order, fn))
        _SECTIONS.sort(key=lambda item: item[0])
        return fn

    return decorator


def dashboard_sections(request) -> list[dict]:
    sections = []
    for _order, fn in _SECTIONS:
        section = fn(request)
        if section:
            sections.append(section)
    return sections
