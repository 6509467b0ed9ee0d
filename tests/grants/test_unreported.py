"""An automatic text to an institution with no delivery report in time tells the petugas of the institution's
grants (the grants app knows them from the thread's party), else the Admins; once per batch per user."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from abah.grants import messaging
from abah.grants.models import Grant
from abah.notifications.models import Notification
from abah.sms import expiry
from abah.sms.models import Message, MessagePart

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db

SENT_AT = datetime(2018, 11, 30, 7, 5, tzinfo=UTC)  # 30 November 2018 14:05 WIB
KIND = Notification.Kind.MESSAGE_UNREPORTED


def text_to(institution, *, kind="invitation", sender=None, key=None):
    """An automatic text to the institution's contact, accepted by the gateway and never reported on."""
    message = messaging.queue_to_institution(institution=institution, text="Undangan NPHD", kind=kind,
                                             idempotency_key=key or f"test:{institution.pk}:{kind}:{sender}",
                                             sender=sender)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT, sent_at=SENT_AT, gateway="default",
                                                 attempts=1, created_at=SENT_AT)
    MessagePart.objects.create(message=message, seq=1, gateway="default", gateway_message_id=f"T-{message.pk}")
    return message


@pytest.fixture
def expire(django_capture_on_commit_callbacks):
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return expiry.expire_unreported(now=SENT_AT + timedelta(hours=49))

    return run


def notes():
    return list(Notification.objects.filter(kind=KIND).order_by("user_id", "id"))


def test_the_grants_petugas_hears_of_an_invitation_without_report(petugas, admin_user, expire):
    institution = make_institution("Yayasan Nurul Huda", phone="081230900095")
    make_grant(institution, petugas=petugas)
    message = text_to(institution)
    assert expire() == 1
    [note] = notes()
    assert note.user == petugas  # not the Admins: someone is responsible
    assert note.text == ("Tidak ada laporan pengiriman untuk SMS ke Yayasan Nurul Huda yang dikirim 30 November 2018 "
                         "14:05 WIB: kami tidak tahu apakah SMS itu sampai.")
    assert note.url == f"{reverse('sms:message_list')}?thread={message.conversation_id}"
    assert expire() == 0 and len(notes()) == 1


def test_an_institution_nobody_is_assigned_to_goes_to_the_admins(petugas, admin_user, expire):
    archived = make_institution("Masjid Al-Ikhlas", phone="081230900096")
    make_grant(archived, petugas=petugas, status=Grant.Status.ARSIP)
    unassigned = make_institution("Pondok Pesantren Al-Falah", phone="081230900097")
    make_grant(unassigned, petugas=None)
    text_to(archived, kind="disbursement")
    text_to(unassigned, kind="billing")
    assert expire() == 2
    [note] = notes()  # both in one notification
    assert note.user == admin_user
    assert "2 SMS ke Masjid Al-Ikhlas, Pondok Pesantren Al-Falah" in note.text
    assert note.url == f"{reverse('sms:message_list')}?status=no_report"


def test_one_notification_per_petugas_for_a_broadcast_batch(petugas, petugas2, admin_user, expire):
    for i in range(5):
        institution = make_institution(f"Lembaga {i}", phone=f"08123090010{i}")
        make_grant(institution, petugas=petugas if i < 4 else petugas2)
        text_to(institution, kind="broadcast")
    assert expire() == 5
    by_user = {n.user: n for n in notes()}
    assert set(by_user) == {petugas, petugas2}
    assert "4 SMS ke Lembaga 0, Lembaga 1, Lembaga 2 dan 1 lainnya" in by_user[petugas].text
    assert "SMS ke Lembaga 4 yang dikirim" in by_user[petugas2].text


def test_a_typed_message_tells_whoever_typed_it_not_the_petugas(petugas, petugas2, expire):
    institution = make_institution("Yayasan Nurul Huda", phone="081230900095")
    make_grant(institution, petugas=petugas)
    text_to(institution, kind="manual", sender=petugas2)
    assert expire() == 1
    assert [n.user for n in notes()] == [petugas2]
