"""SMS copies of notifications and internal messages sent before messages had an addressee: give each its
addressee (the notification's user, or the internal message's recipient), so that its owner sees it again in
UCP > Pesan and nobody else does (sms.access)."""

from django.db import migrations


def fill_addressee(apps, schema_editor):
    Delivery = apps.get_model("notifications", "Delivery")
    Message = apps.get_model("sms", "Message")
    rows = (Delivery.objects.filter(channel="sms", sms_message_id__isnull=False)
            .values_list("sms_message_id", "notification__user_id", "recipient__user_id"))
    by_user: dict[int, list[int]] = {}
    for message_id, notified, recipient in rows.iterator(chunk_size=2000):
        user_id = notified or recipient
        if user_id:
            by_user.setdefault(user_id, []).append(message_id)
    for user_id, ids in by_user.items():
        for start in range(0, len(ids), 900):
            Message.objects.filter(pk__in=ids[start : start + 900], addressee__isnull=True).update(addressee_id=user_id)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_message_unreported_kind"),
        ("sms", "0005_message_addressee"),
    ]

    operations = [migrations.RunPython(fill_addressee, migrations.RunPython.noop)]
