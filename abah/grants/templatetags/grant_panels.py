from django import template

from abah.grants.panels import render_panels

register = template.Library()


@register.simple_tag(takes_context=True)
def grant_panels(context):
    """The panels other apps registered for the grant page (abah.grants.panels)."""
    return render_panels(context["request"], context["grant"])
