# The record of failed texts dealt with (told or resent): abah.notifications.failed

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0003_sms_copy_addressee'),
        ('sms', '0005_message_addressee'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MessageFailure',
            fields=[
                ('message', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='failure_record', serialize=False, to='sms.message')),
                ('told_at', models.DateTimeField(blank=True, null=True, verbose_name='told at')),
                ('resent_at', models.DateTimeField(blank=True, null=True, verbose_name='resent at')),
                ('resent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='sms.message', verbose_name='resent as')),
                ('resent_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='resent by')),
            ],
            options={
                'verbose_name': 'failed message',
                'verbose_name_plural': 'failed messages',
            },
        ),
    ]
