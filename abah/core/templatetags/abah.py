"""Template filters for Indonesian money, dates, relative times and stages (loaded as a builtin)."""

from django import template

from abah.core import formatting

register = template.Library()


@register.filter
def rupiah(value):
    return formatting.rupiah(value)


@register.filter
def tanggal(value):
    return formatting.tanggal(value)


@register.filter
def waktu(value):
    return formatting.waktu(value) if value else "-"


@register.filter
def relative(value):
    """"3 jam yang lalu": the one relative time of every page."""
    return formatting.relative(value)


@register.filter
def tahap(value):
    """"Tahap II" from 2."""
    return formatting.tahap(value)


@register.filter
def add_class(field, css: str):
    """Render a bound field's widget with extra CSS classes (Bootstrap), marking invalid fields."""
    classes = css + (" is-invalid" if field.errors else "")
    existing = field.field.widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {classes}".strip()})
