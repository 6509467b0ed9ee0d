"""Writes of the automation app: template versions, reminder pauses, broadcasts."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import SmsTemplate, SmsTemplateVersion, TemplateKind
from .templating import validate_text


@transaction.atomic
def template_save(*, kind: str, text: str, by=None, legacy_money: bool | None = None) -> SmsTemplateVersion:
    """Save a new version of ``kind``'s template and make it current (unknown placeholders are refused).

    Saving the same text and money style as the current version changes nothing and returns it.
    """
    text = " ".join((text or "").split())
    validate_text(kind, text)
    template, _created = SmsTemplate.objects.select_for_update().get_or_create(kind=TemplateKind(kind))
    current = template.current
    if current is not None and current.text == text and current.legacy_money == legacy_money:
        return current
    number = (template.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = SmsTemplateVersion.objects.create(template=template, number=number, text=text,
                                                legacy_money=legacy_money, created_by=by)
    template.current = version
    template.updated_at = timezone.now()
    template.save(update_fields=["current", "updated_at"])
    return version


@transaction.atomic
def template_restore(*, version: SmsTemplateVersion, by=None) -> SmsTemplateVersion:
    """Make an earlier text current again (as a new version, so history stays linear)."""
    return template_save(kind=version.template.kind, text=version.text, by=by, legacy_money=version.legacy_money)


def ensure_templates() -> None:
    """Give every kind that has no template row its default text (DOMAIN.md §4) as version 1.

    Migration 0002 seeds them; this repairs a database whose rows were removed (a flushed test database,
    an Admin who deleted one), so an automatic text never fails for want of a template.
    """
    from .templating import DEFAULT_TEXTS

    present = set(SmsTemplate.objects.values_list("kind", flat=True))  # a row without a version stays so
    for kind in TemplateKind.values:
        if kind not in present:
            template_save(kind=kind, text=DEFAULT_TEXTS[TemplateKind(kind)])
