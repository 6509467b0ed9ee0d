"""Failed texts from before the sweep existed: those that failed more than 14 days ago get their record without
anyone being told (nobody needs a notification for last year's failures); the recent ones are told by the first
sweep. Afterwards every failed message has a record once swept, so the sweep's probe reads an index only."""

from datetime import timedelta

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

RECENT_DAYS = 14


def record_earlier(apps, schema_editor):
    Message = apps.get_model("sms", "Message")
    MessageFailure = apps.get_model("notifications", "MessageFailure")
    cutoff = timezone.now() - timedelta(days=RECENT_DAYS)
    old = (Message.objects.filter(status="failed")
           .filter(Q(failed_at__lt=cutoff) | Q(failed_at__isnull=True, created_at__lt=cutoff))
           .order_by("id").values_list("id", flat=True))
    batch = []
    for message_id in old.iterator(chunk_size=5000):
        batch.append(MessageFailure(message_id=message_id))
        if len(batch) == 5000:
            MessageFailure.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        MessageFailure.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_message_failure")]

    operations = [migrations.RunPython(record_earlier, migrations.RunPython.noop)]
