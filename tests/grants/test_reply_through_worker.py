"""A reply an institution sends, picked up by the worker from the gateway, tells the petugas of the institution's
grants (bell, with the link to the institution), and nobody else."""

import pytest

from abah.notifications.models import Notification
from abah.sms.daemon import Daemon

from .test_failed_texts import institutions_of

pytestmark = pytest.mark.django_db


def test_a_reply_through_the_worker_tells_the_grants_petugas(petugas, petugas2, admin_user, locmem_gateway,
                                                             django_capture_on_commit_callbacks):
    institution = institutions_of(petugas, 1)[0]
    institutions_of(petugas2, 1, start=1)
    locmem_gateway.receive("+6281230900000", "Baik, kami hadir hari Senin")
    with django_capture_on_commit_callbacks(execute=True):
        Daemon(batch_size=10).tick()
    [note] = Notification.objects.filter(kind=Notification.Kind.REPLY_RECEIVED)
    assert note.user == petugas
    assert note.text == "Balasan dari Lembaga 00: Baik, kami hadir hari Senin"
    assert note.url == institution.get_absolute_url()
