"""Two users press Proses at the same moment (two threads, two PostgreSQL connections): each invitee is texted once.

The appointment row is locked (SELECT … FOR UPDATE) by the first; the second waits, re-checks under the lock
and is refused with the reason. On SQLite the same rule is covered by the sequential double-process tests.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from abah.nphd import services
from abah.nphd.models import Appointment, Invitation
from abah.sms.models import Message
from tests.conftest import make_user

from .conftest import invite, make_grant, make_institution


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_users_pressing_proses_at_once_text_each_invitee_once(require_postgres, future):
    assert connection.vendor == "postgresql"
    petugas = make_user("konkurenpetugas", role="petugas")
    admin = make_user("konkurenadmin", role="admin")
    for n, name in enumerate(("Yayasan Al-Hikmah", "Masjid Sabilillah", "Pura Tri Dharma")):
        grant = make_grant(make_institution(name, phone=f"08123090008{n}"), petugas=petugas)
        appointment = invite(grant, petugas, future).appointment

    for _round in range(5):  # several races, each on a fresh appointment state
        Invitation.objects.update(notified_at=None, message=None)
        Message.objects.all().delete()
        Appointment.objects.update(notified_at=None)
        barrier = threading.Barrier(2)
        results: list = []

        def press(user, barrier=barrier, results=results):
            try:
                barrier.wait(timeout=30)
                sent = services.appointment_process(appointment=Appointment.objects.get(pk=appointment.pk), by=user)
                results.append(("sent", len(sent)))
            except ValidationError as error:
                results.append(("refused", error.messages[0]))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=press, args=(user,)) for user in (petugas, admin)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
            assert not thread.is_alive()
        assert sorted(r[0] for r in results) == ["refused", "sent"], results
        assert ("sent", 3) in results
        assert Message.objects.count() == 3
        numbers = list(Message.objects.values_list("number", flat=True))
        assert len(set(numbers)) == 3
        assert Invitation.objects.filter(notified_at__isnull=False).count() == 3
