"""The data migration for failures from before the sweep: the old ones are recorded without telling anyone, the
recent ones are left for the first sweep, which tells their people once."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from abah.notifications import failed
from abah.notifications.models import MessageFailure, Notification
from abah.sms import services as sms_services
from abah.sms.models import Message

pytestmark = pytest.mark.django_db

migration = importlib.import_module("abah.notifications.migrations.0005_earlier_failures")


def test_old_failures_are_recorded_silently_recent_ones_are_told(petugas, django_capture_on_commit_callbacks):
    now = timezone.now()
    old = sms_services.queue_message(to="081230900401", text="Tahun lalu", kind="manual", sender=petugas)
    unstamped = sms_services.queue_message(to="081230900402", text="Tanpa waktu gagal", kind="manual",
                                           sender=petugas)
    recent = sms_services.queue_message(to="081230900403", text="Kemarin", kind="manual", sender=petugas)
    Message.objects.filter(pk=old.pk).update(status="failed", failed_at=now - timedelta(days=300))
    Message.objects.filter(pk=unstamped.pk).update(status="failed", failed_at=None,
                                                   created_at=now - timedelta(days=30))
    Message.objects.filter(pk=recent.pk).update(status="failed", failed_at=now - timedelta(days=1))

    migration.record_earlier(apps, None)
    migration.record_earlier(apps, None)  # run twice (a re-applied migration): no error, no second row

    assert set(MessageFailure.objects.values_list("message_id", "told_at")) == {(old.pk, None), (unstamped.pk, None)}
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert failed.sweep() == 1
    [note] = Notification.objects.filter(kind=Notification.Kind.MESSAGE_FAILED)
    assert note.user == petugas and note.text.startswith("SMS ke 0812-3090-0403 yang dikirim ")
