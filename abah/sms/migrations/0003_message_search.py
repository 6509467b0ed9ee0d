"""The trigram search index of message texts and numbers (see abah/sms/search.py)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from abah.sms import search

    search.install(schema_editor.connection)


def backwards(apps, schema_editor):
    from abah.sms import search

    search.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("sms", "0002_unmatched_report")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
