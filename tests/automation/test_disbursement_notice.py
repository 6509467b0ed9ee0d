"""Recording a disbursement queues its notice in the same transaction, in the institution's Pesan thread."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from abah.automation import services as automation_services
from abah.grants import services as grant_services
from abah.grants.messaging import institution_conversation
from abah.grants.models import Activity, Disbursement, Grant
from abah.notifications.models import Notification
from abah.sms.backends import locmem
from abah.sms.models import Message

from .conftest import make_grant, make_institution, run_worker

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def signed(petugas):
    return make_grant(make_institution(), status=Grant.Status.NPHD_DITANDATANGANI, petugas=petugas,
                      amount_approved=Decimal("400000000"))


def record(grant, user, stage=1, amount="200000000"):
    return grant_services.disbursement_record(grant=grant, stage=stage, amount=Decimal(amount),
                                              paid_on=datetime.date(2018, 11, 30), sp2d_number=f"SP2D-{stage}",
                                              by=user)


def test_tahap_1_notice_queued_in_thread_with_version_and_delivered(signed, petugas, admin_client):
    disbursement = record(signed, petugas)
    message = Message.objects.get(idempotency_key=f"disbursement-{disbursement.pk}")
    assert message.kind == "disbursement" and message.status == "queued" and message.sender_id is None
    assert message.number == "+6281230900095"
    assert message.text == (
        "Yth. Pimpinan Yayasan Nurul Huda, dana hibah Tahap I TA 2018 Rp200.000.000,00 telah ditransfer ke rek. "
        "Bank Jatim ***4556 a.n. lembaga pd 30 November 2018. Gunakan sesuai NPHD. Tidak dipungut biaya apapun. "
        "Biro Kesra Jatim"
    )
    assert message.encoding == "GSM-7" and message.segments == 2
    conversation = institution_conversation(signed.institution)
    assert message.conversation_id == conversation.pk
    version = automation_services.SmsTemplate.objects.get(kind="disbursement").current
    assert message.meta["template_version"] == version.pk
    assert message.meta["disbursement"] == disbursement.pk
    assert Notification.objects.filter(user=petugas, kind="disbursement_recorded").exists()
    run_worker()
    [sms] = locmem.outbox
    locmem.deliver(sms)
    run_worker()
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    # The Pesan dialog shows it, with the delivered mark.
    response = admin_client.get(reverse("sms:conversation_dialog", args=[conversation.pk]))
    assert response.status_code == 200
    assert "dana hibah Tahap I TA 2018 Rp200.000.000,00" in response.content.decode()


def test_rollback_of_the_disbursement_leaves_no_message(signed, petugas):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(signed, petugas)
        assert Message.objects.filter(kind="disbursement").count() == 1
        raise RuntimeError("the request failed after recording")
    assert not Disbursement.objects.exists()
    assert not Message.objects.filter(kind="disbursement").exists()


def test_no_contact_still_records_and_logs_why(petugas):
    grant = make_grant(make_institution("Masjid Tanpa Kontak", phone=""), status=Grant.Status.NPHD_DITANDATANGANI,
                       petugas=petugas, amount_approved=Decimal("400000000"))
    disbursement = record(grant, petugas)
    assert Disbursement.objects.filter(pk=disbursement.pk).exists()
    assert not Message.objects.exists()
    activity = Activity.objects.get(grant=grant, action="sms_skipped")
    assert "Masjid Tanpa Kontak" in activity.message
    note = Notification.objects.get(user=petugas, kind="disbursement_recorded")
    assert "tidak dikirim" in note.text  # stored in the Indonesian UI language


def test_missing_bank_skips_notice_but_not_the_disbursement(petugas):
    grant = make_grant(make_institution("Yayasan Tanpa Bank", bank_name=""), petugas=petugas,
                       status=Grant.Status.NPHD_DITANDATANGANI, amount_approved=Decimal("400000000"))
    record(grant, petugas)
    assert not Message.objects.exists()
    assert "{bank}" in Activity.objects.get(grant=grant, action="sms_skipped").message


def test_stage_2_uses_its_own_key_and_edited_template(signed, petugas, admin_user):
    first = record(signed, petugas)
    version = automation_services.template_save(
        kind="disbursement", text="Hibah {lembaga} Tahap {tahap}: {nominal} ke {bank} ***{rek4} pd {tgl}.",
        by=admin_user)
    second = record(signed, petugas, stage=2, amount="200000000")
    m1 = Message.objects.get(idempotency_key=f"disbursement-{first.pk}")
    m2 = Message.objects.get(idempotency_key=f"disbursement-{second.pk}")
    assert m2.text == "Hibah Yayasan Nurul Huda Tahap II: Rp200.000.000,00 ke Bank Jatim ***4556 pd 30 November 2018."
    assert m2.meta["template_version"] == version.pk != m1.meta["template_version"]
