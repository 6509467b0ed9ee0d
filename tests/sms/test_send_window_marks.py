"""The mark of a queued text in the Pesan dialog and UCP > Pesan: "menunggu jam kirim · 08:00 WIB" while the send
window holds it, "antre" while it only waits for the worker; nothing of the kind once a gateway accepted it."""

from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from abah.core.formatting import WIB
from abah.sms import services

from .conftest import run_worker

pytestmark = pytest.mark.django_db


def test_queued_marks_at_night(settings, petugas, petugas_client, thread):
    settings.SMS_SEND_WINDOW = "08:00-20:00"
    with time_machine.travel(datetime(2026, 12, 3, 22, 37, tzinfo=WIB), tick=False):
        petugas_client.force_login(petugas)
        services.queue_message(to="081230900095", text="Undangan rapat", kind="broadcast", conversation=thread)
        dialog = petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
        assert "menunggu jam kirim · 08:00 WIB, 4 Desember 2026" in dialog
        assert 'data-testid="mark-queued" data-waiting="1"' in dialog
        listing = petugas_client.get(reverse("sms:message_list")).content.decode()
        assert "menunggu jam kirim · 08:00 WIB, 4 Desember 2026" in listing
        services.queue_message(to="081230900095", text="Halo", kind="manual", conversation=thread)  # exempt
        dialog = petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
        assert 'data-waiting="0"' in dialog and '<span class="visually-hidden"> antre</span>' in dialog
        run_worker()  # the typed text goes, the broadcast waits
        dialog = petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
        assert dialog.count('data-testid="mark-queued"') == 1
    with time_machine.travel(datetime(2026, 12, 4, 6, 0, tzinfo=WIB), tick=False):  # the same morning: no date
        petugas_client.force_login(petugas)
        dialog = petugas_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
        assert "menunggu jam kirim · 08:00 WIB</span>" in dialog
