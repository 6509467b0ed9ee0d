"""Audit entries are written once: no update, no delete, from anywhere in the application."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import URLPattern, URLResolver, get_resolver

from abah import audit
from abah.audit.models import AppendOnlyError, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(petugas):
    return audit.record(petugas, "export", target="grants.grant", count=1161, detail="q= scope=aktif")


def test_an_entry_cannot_be_changed(entry):
    entry.count = 1
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(count=1)
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["count"])
    assert AuditEntry.objects.get(pk=entry.pk).count == 1161


def test_an_entry_cannot_be_deleted(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_saving_a_copy_with_the_same_id_is_refused(entry):
    copy = AuditEntry.objects.get(pk=entry.pk)
    copy._state.adding = True  # an insert with an existing id must not overwrite the entry
    copy.detail = "changed"
    with pytest.raises(IntegrityError), transaction.atomic():  # the primary key refuses a second insert
        copy.save()
    assert AuditEntry.objects.get(pk=entry.pk).detail == "q= scope=aktif"


def test_no_view_changes_or_deletes_entries():
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.callback
    audit_views = [(route, view) for route, view in walk(get_resolver().url_patterns)
                   if view.__module__.startswith("abah.audit")]
    assert [route for route, _ in audit_views] == ["log-audit/"]
