"""Relative times: one helper for every page, ``abah.core.formatting.relative`` ("3 jam yang lalu")."""

from abah.core.formatting import relative

__all__ = ["relative"]
