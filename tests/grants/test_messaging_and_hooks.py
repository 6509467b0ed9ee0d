"""Grants ↔ SMS Center: the Pesan action, inbound routing to an institution's thread, and the notifications
every process on an institution creates."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from abah.grants import messaging, services
from abah.grants.cards import actions_for
from abah.notifications.models import Notification
from abah.sms import services as sms_services
from abah.sms.models import Conversation, Message

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def contact(institution, petugas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.contact_set(institution=institution, person="Bpk. Ahmad", phone="08123090095",
                                    region="ID", by=petugas)


def test_pesan_action_opens_the_institution_thread(rf, grant, petugas, petugas_client, contact):
    request = rf.get("/")
    request.user = petugas
    pesan = next(a for a in actions_for(request, grant) if a.key == "pesan")
    assert pesan.enabled and pesan.dialog
    assert pesan.url == reverse("grants:institution_messages", args=[grant.institution_id])

    response = petugas_client.get(pesan.url, headers={"HX-Request": "true"}, follow=True)
    conversation = Conversation.objects.get(party_type=messaging.PARTY_TYPE, party_id=str(grant.institution_id))
    assert conversation.number == "+628123090095"
    assert response.status_code == 200
    assert b'data-testid="sms-dialog"' in response.content
    assert grant.institution.name.encode() in response.content

    # Opening it again reuses the same thread; without htmx the messages list is shown, filtered.
    plain = petugas_client.get(pesan.url)
    assert plain.status_code == 302 and reverse("sms:message_list") in plain["Location"]
    assert Conversation.objects.filter(party_type=messaging.PARTY_TYPE).count() == 1


def test_institution_page_has_a_pesan_button(petugas_client, institution):
    response = petugas_client.get(reverse("grants:institution_detail", args=[institution.pk]))
    assert reverse("grants:institution_messages", args=[institution.pk]).encode() in response.content


def test_inbound_reply_lands_in_the_thread_and_notifies_the_petugas(
        institution, grant, petugas, petugas2, admin_user, contact, django_capture_on_commit_callbacks):
    other = make_institution("Masjid Al Falah")
    make_grant(other, petugas=petugas2)
    with django_capture_on_commit_callbacks(execute=True):
        message = sms_services.receive_message(number="628123090095", text="<b>Terima kasih</b>",
                                               gateway="simulator", gateway_message_id="r1")
    assert message.conversation.party_id == str(institution.pk)
    notes = Notification.objects.filter(kind=Notification.Kind.REPLY_RECEIVED)
    assert [n.user for n in notes] == [petugas]
    assert institution.name in notes[0].text and notes[0].url == institution.get_absolute_url()


def test_reply_from_an_institution_nobody_handles_goes_to_the_admins(admin_user, petugas,
                                                                    django_capture_on_commit_callbacks):
    lonely = make_institution("Panti Asuhan Kasih")
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_set(institution=lonely, person="Ibu Sri", phone="081234567890", region="ID",
                             by=admin_user)
        sms_services.receive_message(number="+6281234567890", text="Halo", gateway="simulator",
                                     gateway_message_id="r2")
    assert list(Notification.objects.filter(kind=Notification.Kind.REPLY_RECEIVED).values_list(
        "user__username", flat=True)) == [admin_user.username]


def test_unknown_number_creates_no_notification(admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = sms_services.receive_message(number="+6285799990000", text="siapa?", gateway="simulator",
                                               gateway_message_id="r3")
    assert message.conversation is None
    assert not Notification.objects.filter(kind=Notification.Kind.REPLY_RECEIVED).exists()


def test_processes_on_an_institution_notify_the_user_who_did_them(
        grant, petugas, contact, django_capture_on_commit_callbacks):
    assert Notification.objects.filter(user=petugas, kind=Notification.Kind.CONTACT_CHANGED).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.note_add(grant=grant, text="Berkas lengkap", by=petugas)
    note = Notification.objects.get(user=petugas, kind=Notification.Kind.NOTE_ADDED)
    assert grant.kode in note.text and note.url == grant.get_absolute_url()

    conversation = messaging.institution_conversation(grant.institution)
    with django_capture_on_commit_callbacks(execute=True):
        sms_services.send_manual(conversation=conversation, text="Mohon dokumen SPJ", sender=petugas)
    sent = Notification.objects.get(user=petugas, kind=Notification.Kind.MESSAGE_SENT)
    assert "Mohon dokumen SPJ" in sent.text
    assert Message.objects.filter(conversation=conversation, kind=Message.Kind.MANUAL).count() == 1


def test_disbursement_notifies_the_recorder(grant, petugas, contact, django_capture_on_commit_callbacks):
    from abah.grants.models import Grant

    Grant.objects.filter(pk=grant.pk).update(status=Grant.Status.NPHD_DITANDATANGANI,
                                             amount_approved=Decimal("400000000"))
    grant.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.disbursement_record(grant=grant, stage=1, amount=Decimal("400000000"),
                                     paid_on=datetime.date(2018, 12, 3), sp2d_number="SP2D-001", by=petugas)
    assert Notification.objects.filter(user=petugas, kind=Notification.Kind.DISBURSEMENT_RECORDED).exists()


def test_card_labels_stay_with_their_actions_across_renders(rf, grant, petugas):
    """Labels were once cached by id() of short-lived lazy strings: a reused id showed "Log" on SPJ."""
    import gc

    from django.utils.translation import override

    request = rf.get("/")
    request.user = petugas
    with override("id"):
        first = {a.key: a.label for a in actions_for(request, grant)}
        for _ in range(50):
            gc.collect()
            assert {a.key: a.label for a in actions_for(request, grant)} == first
    assert first["spj"] == "SPJ" and first["log"] == "Log" and first["pesan"] == "Pesan"
