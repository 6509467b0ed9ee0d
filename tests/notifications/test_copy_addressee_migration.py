"""The data migration that gives SMS copies sent before the privacy rule their addressee (so their owner sees them
again, and nobody else)."""

import importlib

import pytest
from django.apps import apps

from abah.notifications.models import Delivery, Notification
from abah.sms import services as sms_services
from abah.sms.models import Message

pytestmark = pytest.mark.django_db

migration = importlib.import_module("abah.notifications.migrations.0003_sms_copy_addressee")


def test_old_copies_get_their_addressee(petugas, petugas2):
    copy = sms_services.queue_message(to=petugas.phone, text="Notifikasi: hibah baru", kind="notification")
    other = sms_services.queue_message(to=petugas2.phone, text="Notifikasi lain", kind="notification")
    Message.objects.filter(pk__in=[copy.pk, other.pk]).update(addressee=None)  # as before the privacy rule
    notification = Notification.objects.create(user=petugas, kind=Notification.Kind.choices[0][0], text="x")
    Delivery.objects.create(notification=notification, channel="sms", sms_message_id=copy.pk)

    migration.fill_addressee(apps, None)

    copy.refresh_from_db()
    other.refresh_from_db()
    assert copy.addressee_id == petugas.pk
    assert other.addressee_id is None  # no delivery names its owner: stays private to nobody
