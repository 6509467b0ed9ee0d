"""Existing code messages: addressed to the user who asked for the code, hidden while the code was valid
(abah.sms.access). Without this they stay visible to nobody (private kind, no addressee)."""

from django.db import migrations


def forwards(apps, schema_editor):
    VerificationCode = apps.get_model("verification", "VerificationCode")
    Message = apps.get_model("sms", "Message")
    codes = VerificationCode.objects.filter(sms_message_id__isnull=False).values_list(
        "sms_message_id", "user_id", "expires_at", "used_at", "superseded_at")
    for message_id, user_id, expires_at, used_at, superseded_at in codes.iterator():
        ends = [when for when in (expires_at, used_at, superseded_at) if when is not None]
        Message.objects.filter(pk=message_id, addressee__isnull=True).update(
            addressee_id=user_id, hidden_until=min(ends))


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0001_initial"),
        ("sms", "0005_message_addressee"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
