"""Registry of demo-data seeders; `manage.py seed_demo` runs them in order. Each must be idempotent."""

from collections.abc import Callable

_SEEDERS: list[tuple[int, str, Callable]] = []


def register_seeder(order: int, name: str):
    """Decorate ``fn(*, size: int, stdout) -> None``."""

    def decorator(fn):
        if all(existing is not fn for _o, _n, existing in _SEEDERS):
            _SEEDERS.append((order, name, fn))
            _SEEDERS.sort(key=lambda item: item[0])
        return fn

    return decorator


def seeders():
    return list(_SEEDERS)
