"""The rules of the NPHD invitations, through the services (real database, real SMS queue, locmem gateway)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from abah.automation.models import SmsTemplate
from abah.core.formatting import DAYS_ID, tanggal
from abah.grants import services as grant_services
from abah.grants.messaging import institution_conversation
from abah.grants.models import Activity, Contact, Grant
from abah.grants.phones import parse_contact_number
from abah.notifications.models import Notification
from abah.nphd import services
from abah.nphd.models import Appointment, Invitation
from abah.sms.backends import locmem
from abah.sms.models import Message
from tests.conftest import make_user

from .conftest import S, invite, make_grant, make_institution, run_worker

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- invite


def test_invite_records_appointment_schedules_grant_and_keeps_contact_history(grant_a, petugas, future):
    old = grant_a.institution.current_contact
    invitation = services.invitation_create(grant=grant_a, date=future, phone="0812 3090 0097", person="Nur Hidayat",
                                            region="ID", by=petugas)
    appointment = invitation.appointment
    assert (appointment.date, appointment.petugas) == (future, petugas)
    assert appointment.time == datetime.time(9, 0)
    assert appointment.place == "Kantor Biro Kesra Setdaprov Jawa Timur, Jl. Pahlawan 110 Surabaya"
    assert (invitation.person, invitation.phone, invitation.status) == ("Nur Hidayat", "+6281230900097", "active")
    grant_a.refresh_from_db()
    assert grant_a.status == S.NPHD_DIJADWALKAN and grant_a.nphd_date == future
    contact = grant_a.institution.current_contact
    assert (contact.person, contact.phone) == ("Nur Hidayat", "+6281230900097")
    old.refresh_from_db()
    assert old.is_current is False and old.replaced_at is not None  # history kept
    assert Activity.objects.filter(grant=grant_a, action="nphd_invited").exists()
    assert Notification.objects.filter(user=petugas, kind="invitation_created").count() == 1
    assert not Message.objects.exists()  # nothing is texted before Proses
    assert not appointment.is_notified


def test_same_date_and_petugas_form_one_appointment(grant_a, grant_b, petugas, petugas2, future):
    first = invite(grant_a, petugas, future)
    second = invite(grant_b, petugas, future)
    assert first.appointment_id == second.appointment_id
    appointment = Appointment.objects.with_counts().get()
    assert appointment.jumlah == 2 and appointment.unsent == 2
    other_day = invite(make_grant(make_institution("Pura Agung", phone="081230900098"), petugas=petugas), petugas,
                       future + datetime.timedelta(days=1))
    other_petugas = invite(make_grant(make_institution("Gereja Bethesda", phone="081230900099"), petugas=petugas2),
                           petugas2, future)
    assert len({first.appointment_id, other_day.appointment_id, other_petugas.appointment_id}) == 3


def test_admin_inviting_groups_under_the_grants_petugas(grant_a, admin_user, petugas, future):
    invitation = invite(grant_a, admin_user, future)
    assert invitation.appointment.petugas == petugas
    assert invitation.appointment.created_by == admin_user


@pytest.mark.parametrize("raw,code", [
    ("081230900097, 081230900098", "several"),
    ("081230900097 081230900098", "several"),
    ("0812-3090-0097 / 0813-3090-0098", "several"),
    ("081230900097 dan 081330900098", "several"),
    ("+6281230900097+6281330900098", "several"),
    ("0812abc0097", "letters"),
    ("031 3524001", "not_mobile"),
    ("", "empty"),
])
def test_phone_must_be_exactly_one_mobile_number_and_nothing_changes(grant_a, petugas, future, raw, code):
    with pytest.raises(ValidationError) as caught:
        services.invitation_create(grant=grant_a, date=future, phone=raw, person="Nur Hidayat", by=petugas)
    assert "phone" in caught.value.error_dict
    assert caught.value.error_dict["phone"][0].messages
    with pytest.raises(ValidationError) as direct:
        parse_contact_number(raw)
    assert direct.value.code == code
    assert not Invitation.objects.exists() and not Appointment.objects.exists()
    assert Contact.objects.filter(institution=grant_a.institution).count() == 1
    grant_a.refresh_from_db()
    assert grant_a.status == S.DITETAPKAN


def test_the_usual_ways_of_writing_one_number_are_accepted():
    for raw in ("081230900097", "0812 3090 0097", "0812-3090-0097", "+62 812 3090 0097", "6281230900097",
                "81230900097", "(0812) 3090-0097"):
        assert parse_contact_number(raw) == "+6281230900097", raw


def test_date_in_the_past_is_refused(grant_a, petugas, today):
    with pytest.raises(ValidationError) as caught:
        invite(grant_a, petugas, today - datetime.timedelta(days=1))
    assert "date" in caught.value.error_dict
    assert not Appointment.objects.exists()
    invite(grant_a, petugas, today)  # today itself is allowed


def test_only_the_assigned_petugas_or_an_admin_may_invite(grant_a, petugas2, future):
    with pytest.raises(PermissionDenied):
        invite(grant_a, petugas2, future)
    assert not Invitation.objects.exists()


def test_grant_must_have_its_sk_and_cannot_be_invited_twice(petugas, future):
    proposal = make_grant(status=S.VERIFIKASI_FAKTUAL, petugas=petugas)
    with pytest.raises(ValidationError) as caught:
        invite(proposal, petugas, future)
    assert caught.value.code == "status"
    grant = make_grant(make_institution("LPTQ Kabupaten Jember", phone="081230900091"), petugas=petugas)
    invite(grant, petugas, future)
    with pytest.raises(ValidationError) as again:
        invite(grant, petugas, future + datetime.timedelta(days=2))
    assert again.value.code == "already_invited"
    assert Invitation.objects.filter(grant=grant).count() == 1


def test_scheduled_grant_moves_to_the_invitation_date(grant_a, petugas, future):
    grant_services.grant_schedule_nphd(grant=grant_a, nphd_date=future + datetime.timedelta(days=3), by=petugas)
    invite(grant_a, petugas, future)
    grant_a.refresh_from_db()
    assert grant_a.status == S.NPHD_DIJADWALKAN and grant_a.nphd_date == future


# ---------------------------------------------------------------- Proses


def test_process_texts_every_invitee_once_with_the_template_in_their_thread(grant_a, grant_b, petugas, future):
    appointment = invite(grant_a, petugas, future).appointment
    invite(grant_b, petugas, future)
    messages = services.appointment_process(appointment=appointment, by=petugas)
    assert len(messages) == 2
    version = SmsTemplate.objects.get(kind="invitation").current
    for message, grant in zip(messages, (grant_a, grant_b), strict=True):
        invitation = Invitation.objects.get(grant=grant)
        assert message.kind == "invitation" and message.status == "queued" and message.sender_id is None  # system
        assert message.conversation_id == institution_conversation(grant.institution).pk  # the Pesan thread
        assert message.idempotency_key == f"nphd:{invitation.pk}:1"
        assert message.meta["template_version"] == version.pk and message.meta["invitation"] == invitation.pk
        assert invitation.message_id == message.pk and invitation.notified_at is not None
    assert messages[0].number == "+6281230900095" and messages[1].number == "+6285730900096"
    assert messages[0].text == (
        f"Yth. Bpk/Ibu Pimpinan Yayasan Nurul Huda, dimohon hadir penandatanganan NPHD Hibah TA 2026 pd "
        f"{DAYS_ID[future.weekday()]}, {tanggal(future)} pukul 09.00 WIB di Kantor Biro Kesra Setdaprov Jawa Timur, "
        f"Jl. Pahlawan 110 Surabaya. Bawa stempel, KTP asli Ketua, meterai 10.000. Info: (031) 3524001. "
        f"Biro Kesra Setdaprov Jatim"
    )
    assert messages[0].encoding == "GSM-7"
    appointment.refresh_from_db()
    assert appointment.is_notified and appointment.processed_by == petugas
    assert Notification.objects.filter(user=petugas, kind="invitation_processed").count() == 1
    assert Activity.objects.filter(action="nphd_processed").count() == 2
    # The worker sends them; delivery reports give each its final status.
    run_worker()
    assert sorted(sms.number for sms in locmem.outbox) == ["+6281230900095", "+6285730900096"]
    locmem.deliver(locmem.outbox[0])
    locmem.deliver(locmem.outbox[1], delivered=False, error_code="absent_subscriber", error_reason="absent")
    run_worker()
    statuses = dict(Message.objects.values_list("number", "status"))
    assert statuses == {"+6281230900095": "delivered", "+6285730900096": "failed"}


def test_processing_twice_sends_nothing_twice(grant_a, grant_b, petugas, admin_user, future):
    appointment = invite(grant_a, petugas, future).appointment
    invite(grant_b, petugas, future)
    services.appointment_process(appointment=appointment, by=petugas)
    with pytest.raises(ValidationError) as caught:
        services.appointment_process(appointment=appointment, by=admin_user)
    assert caught.value.messages == ["Proses sudah dilakukan untuk jadwal ini."]
    assert Message.objects.count() == 2
    assert services.process_refusal(appointment) == "Proses sudah dilakukan untuk jadwal ini."


def test_a_later_invitation_makes_the_appointment_unsent_and_proses_texts_only_it(grant_a, grant_b, petugas, future):
    appointment = invite(grant_a, petugas, future).appointment
    services.appointment_process(appointment=appointment, by=petugas)
    invite(grant_b, petugas, future)
    appointment.refresh_from_db()
    assert not appointment.is_notified
    [message] = services.appointment_process(appointment=appointment, by=petugas)
    assert message.number == "+6285730900096"
    assert Message.objects.count() == 2


def test_an_appointment_dated_yesterday_cannot_be_processed(grant_a, petugas, future, today):
    appointment = invite(grant_a, petugas, future).appointment
    Appointment.objects.filter(pk=appointment.pk).update(date=today - datetime.timedelta(days=1))
    appointment.refresh_from_db()
    reason = services.process_refusal(appointment)
    assert "sudah lewat" in reason
    with pytest.raises(ValidationError) as caught:
        services.appointment_process(appointment=appointment, by=petugas)
    assert caught.value.messages == [reason]
    assert not Message.objects.exists()


def test_process_is_one_transaction_a_failing_invitee_sends_nothing(grant_a, grant_b, petugas, future):
    appointment = invite(grant_a, petugas, future).appointment
    invite(grant_b, petugas, future)
    Contact.objects.filter(institution=grant_b.institution).update(is_current=False)  # its number was removed
    with pytest.raises(ValidationError) as caught:
        services.appointment_process(appointment=appointment, by=petugas)
    assert "Masjid Jami' Al-Ikhlas Sukorejo" in caught.value.messages[0]
    assert not Message.objects.exists()
    assert not Invitation.objects.filter(notified_at__isnull=False).exists()


def test_only_the_appointments_petugas_or_an_admin_may_process(grant_a, petugas, petugas2, admin_user, future):
    appointment = invite(grant_a, petugas, future).appointment
    with pytest.raises(PermissionDenied):
        services.appointment_process(appointment=appointment, by=petugas2)
    assert not Message.objects.exists()
    assert len(services.appointment_process(appointment=appointment, by=admin_user)) == 1


def test_sequential_double_process_on_the_same_stale_object(grant_a, grant_b, petugas, admin_user, future):
    """Two users opened the page before either pressed Proses: the second is refused under the lock."""
    appointment = invite(grant_a, petugas, future).appointment
    invite(grant_b, petugas, future)
    stale_1 = Appointment.objects.get(pk=appointment.pk)
    stale_2 = Appointment.objects.get(pk=appointment.pk)
    services.appointment_process(appointment=stale_1, by=petugas)
    with pytest.raises(ValidationError):
        services.appointment_process(appointment=stale_2, by=admin_user)
    assert Message.objects.count() == 2
    assert sorted(Message.objects.values_list("idempotency_key", flat=True)) == sorted(
        f"nphd:{i.pk}:1" for i in Invitation.objects.all())


# ---------------------------------------------------------------- Sunting, time and place


def test_edit_contact_before_processing_then_only_admin(grant_a, petugas, admin_user, future):
    invitation = invite(grant_a, petugas, future)
    services.invitation_update_contact(invitation=invitation, phone="081330900077", person="Hadi Santoso",
                                       region="ID", by=petugas)
    invitation.refresh_from_db()
    assert (invitation.person, invitation.phone) == ("Hadi Santoso", "+6281330900077")
    assert grant_a.institution.current_contact.phone == "+6281330900077"
    assert Contact.objects.filter(institution=grant_a.institution).count() == 2
    with pytest.raises(ValidationError) as caught:
        services.invitation_update_contact(invitation=invitation, phone="0812 1, 0813 2", person="X", by=petugas)
    assert "phone" in caught.value.error_dict
    services.appointment_process(appointment=invitation.appointment, by=petugas)
    with pytest.raises(ValidationError):
        services.invitation_update_contact(invitation=invitation, phone="081330900078", person="Hadi", by=petugas)
    services.invitation_update_contact(invitation=invitation, phone="081330900078", person="Hadi", by=admin_user)


def test_time_and_place_go_into_the_text(grant_a, petugas, future):
    appointment = invite(grant_a, petugas, future).appointment
    services.appointment_update(appointment=appointment, time=datetime.time(13, 30), place="Gedung Negara Grahadi",
                                by=petugas)
    with pytest.raises(ValidationError):
        services.appointment_update(appointment=appointment, time=None, place=" ", by=petugas)
    [message] = services.appointment_process(appointment=appointment, by=petugas)
    assert "pukul 13.30 WIB di Gedung Negara Grahadi." in message.text


def test_default_time_and_place_come_from_settings(grant_a, petugas, future, settings):
    settings.ABAH_NPHD_TIME = "10:15"
    settings.ABAH_NPHD_PLACE = "Aula Biro Kesra"
    appointment = invite(grant_a, petugas, future).appointment
    assert (appointment.time, appointment.place) == (datetime.time(10, 15), "Aula Biro Kesra")


# ---------------------------------------------------------------- Admin: cancel and resend


def test_petugas_cannot_cancel_or_resend(grant_a, petugas, future):
    invitation = invite(grant_a, petugas, future)
    services.appointment_process(appointment=invitation.appointment, by=petugas)
    for call in (lambda: services.invitation_cancel(invitation=invitation, by=petugas),
                 lambda: services.appointment_cancel(appointment=invitation.appointment, by=petugas),
                 lambda: services.invitation_resend(invitation=invitation, by=petugas),
                 lambda: services.appointment_resend(appointment=invitation.appointment, by=petugas)):
        with pytest.raises(PermissionDenied):
            call()
    invitation.refresh_from_db()
    assert invitation.status == "active" and Message.objects.count() == 1


def test_admin_cancel_before_sending_withdraws_the_queued_text(grant_a, grant_b, petugas, admin_user, future):
    invitation = invite(grant_a, petugas, future)
    invite(grant_b, petugas, future)
    services.appointment_process(appointment=invitation.appointment, by=petugas)
    services.invitation_cancel(invitation=invitation, by=admin_user, send_text=True)
    invitation.refresh_from_db()
    assert invitation.status == "cancelled" and invitation.cancelled_by == admin_user
    assert invitation.message.status == Message.Status.CANCELLED  # never went out
    assert not Message.objects.filter(idempotency_key=f"nphd:{invitation.pk}:cancel").exists()
    grant_a.refresh_from_db()
    assert grant_a.status == S.DITETAPKAN and grant_a.nphd_date is None
    assert Notification.objects.filter(user=petugas, kind="invitation_cancelled").exists()
    assert Notification.objects.filter(user=admin_user, kind="invitation_cancelled").exists()
    assert Activity.objects.filter(grant=grant_a, action="nphd_cancelled").exists()
    appointment = Appointment.objects.with_counts().get()
    assert appointment.jumlah == 1 and appointment.cancelled_at is None
    invite(grant_a, petugas, future)  # the grant can be invited again


def test_admin_cancel_withdraws_every_queued_text_of_the_invitation(grant_a, petugas, admin_user, future):
    invitation = invite(grant_a, petugas, future)
    services.appointment_process(appointment=invitation.appointment, by=petugas)
    services.invitation_resend(invitation=invitation, by=admin_user)  # two texts queued, none sent yet
    services.invitation_cancel(invitation=invitation, by=admin_user, send_text=True)
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.CANCELLED}
    assert Message.objects.count() == 2  # nothing went out, so no cancellation text either
    run_worker()
    assert locmem.outbox == []


def test_admin_cancel_after_sending_texts_the_cancellation(grant_a, petugas, admin_user, future):
    invitation = invite(grant_a, petugas, future)
    services.appointment_process(appointment=invitation.appointment, by=petugas)
    run_worker()  # the invitation went out
    services.appointment_cancel(appointment=invitation.appointment, by=admin_user, send_text=True)
    cancel = Message.objects.get(idempotency_key=f"nphd:{invitation.pk}:cancel")
    assert "DIBATALKAN" in cancel.text and cancel.meta["template_kind"] == "invitation_cancelled"
    invitation.refresh_from_db()
    assert invitation.message.status == Message.Status.SENT  # the invitation itself is kept, not withdrawn
    assert cancel.conversation_id == invitation.message.conversation_id
    appointment = Appointment.objects.get()
    assert appointment.cancelled_at is not None
    assert services.process_refusal(appointment) == "Jadwal undangan ini sudah dibatalkan."
    with pytest.raises(ValidationError):
        services.appointment_cancel(appointment=appointment, by=admin_user)


def test_admin_resend_adds_a_new_message_and_keeps_the_old_one(grant_a, petugas, admin_user, future):
    invitation = invite(grant_a, petugas, future)
    with pytest.raises(ValidationError):  # not texted yet: Proses first
        services.invitation_resend(invitation=invitation, by=admin_user)
    [first] = services.appointment_process(appointment=invitation.appointment, by=petugas)
    second = services.invitation_resend(invitation=invitation, by=admin_user)
    assert second.pk != first.pk and second.idempotency_key == f"nphd:{invitation.pk}:2"
    assert Message.objects.filter(conversation=first.conversation).count() == 2  # the old one stays in the thread
    invitation.refresh_from_db()
    assert invitation.message_id == second.pk and invitation.send_no == 2
    third = services.appointment_resend(appointment=invitation.appointment, by=admin_user)
    assert [m.idempotency_key for m in third] == [f"nphd:{invitation.pk}:3"]
    assert Notification.objects.get(user=petugas, kind="invitation_resent").count == 2
    assert Activity.objects.filter(grant=grant_a, action="nphd_resent").count() == 2


def test_resend_refused_once_the_date_has_passed(grant_a, petugas, admin_user, future, today):
    invitation = invite(grant_a, petugas, future)
    services.appointment_process(appointment=invitation.appointment, by=petugas)
    Appointment.objects.filter(pk=invitation.appointment_id).update(date=today - datetime.timedelta(days=1))
    with pytest.raises(ValidationError):
        services.invitation_resend(invitation=invitation, by=admin_user)
    assert Message.objects.count() == 1


# ---------------------------------------------------------------- NPHD signed


@pytest.mark.django_db(transaction=True)
def test_signing_the_nphd_closes_the_invitation(petugas, future):
    grant = make_grant(make_institution("Pondok Pesantren Darul Ulum", phone="081230900093"), petugas=petugas)
    invitation = invite(grant, petugas, future)
    grant_services.grant_sign_nphd(grant=Grant.objects.get(pk=grant.pk), signed_on=future, nphd_number="NPHD/1/2026",
                                   by=petugas)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CLOSED and invitation.closed_at is not None
    assert Activity.objects.filter(grant=grant, action="nphd_invitation_closed").exists()
    appointment = Appointment.objects.with_counts().get()
    assert appointment.jumlah == 1 and appointment.unsent == 0


def test_signing_is_announced_only_on_commit(petugas, future):
    grant = make_grant(make_institution("Kelompok Tani Maju Makmur", phone="081230900092"), petugas=petugas)
    invitation = invite(grant, petugas, future)
    with pytest.raises(RuntimeError), transaction.atomic():
        grant_services.grant_sign_nphd(grant=grant, signed_on=future, by=petugas)
        raise RuntimeError("rolled back")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACTIVE


def test_visible_to(grant_a, petugas, petugas2, admin_user, future):
    invite(grant_a, petugas, future)
    other = make_user("petugasc", role="petugas")
    assert Appointment.objects.visible_to(petugas).count() == 1
    assert Appointment.objects.visible_to(petugas2).count() == 0
    assert Appointment.objects.visible_to(other).count() == 0
    assert Appointment.objects.visible_to(admin_user).count() == 1
