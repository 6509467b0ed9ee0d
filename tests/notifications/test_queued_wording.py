"""A typed message is queued, not sent, when its notification is made: the notification says "Pesan diantrekan"."""

import pytest
from django.urls import reverse

from abah.notifications import services
from abah.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_the_notification_of_a_typed_message_says_queued(petugas, petugas_client):
    services.notify(user=petugas, kind=Notification.Kind.MESSAGE_SENT, target=petugas, text="Pesan untuk Yayasan")
    page = petugas_client.get(reverse("notifications:list")).content.decode()
    assert "Pesan diantrekan" in page and "Pesan terkirim" not in page
