"""Delivery of notifications and internal messages to e-mail (background task) and SMS (SMS Center queue).

E-mail goes through a real SMTP server started here on 127.0.0.1 and is read back from it.
"""

import email
from email import policy

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from abah.notifications import services
from abah.notifications.models import Delivery
from abah.sms.backends import locmem
from abah.sms.models import Message
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _parse(envelope):
    return email.message_from_bytes(envelope.content, policy=policy.default)


@pytest.fixture
def emailer(db):
    return make_user("surel", role="petugas", first_name="Sari", notify_email=True)


@pytest.fixture
def texter(db):
    return make_user("pesanteks", role="petugas", first_name="Tono", notify_sms=True)


def test_no_delivery_when_the_user_chose_none(petugas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.notify(user=petugas, kind="other", text="x")
    assert callbacks == [] and Delivery.objects.count() == 0 and Message.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_email_is_not_sent_inside_the_request_but_by_the_worker(emailer):
    """Default backend (django-tasks-db): notify() enqueues when its transaction commits; the db_worker sends."""
    with transaction.atomic():
        services.notify(user=emailer, kind="note_added", text="Catatan baru untuk Yayasan Contoh")
        assert DBTaskResult.objects.count() == 0  # nothing before the commit
    assert mail.outbox == []
    assert DBTaskResult.objects.count() == 1
    call_command("db_worker", batch=True, interval=0, no_startup_delay=True)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["surel@example.test"]
    assert "Catatan baru untuk Yayasan Contoh" in mail.outbox[0].subject
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_rolled_back_action_sends_nothing(emailer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.notify(user=emailer, kind="other", text="x")
                raise RuntimeError("the business action failed")
        except RuntimeError:
            pass
    assert callbacks == [] and Delivery.objects.count() == 0


def test_notification_email_through_a_real_smtp_server(emailer, smtp_server, immediate_tasks,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=emailer, kind="disbursement_recorded", text="Pencairan Tahap I Yayasan Contoh dicatat")
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["surel@example.test"]
    message = _parse(envelope)
    assert message["Subject"] == "[ABAH SMS Center] Pencairan Tahap I Yayasan Contoh dicatat"
    assert "noreply@localhost" in message["From"]
    body = message.get_content()
    assert "Pencairan Tahap I Yayasan Contoh dicatat" in body
    assert "karena anda memilih menerima notifikasi melalui email" in body
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT and delivery.sent_at is not None


def test_internal_message_email_through_a_real_smtp_server(admin_user, emailer, smtp_server, immediate_tasks,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(sender=admin_user, recipients=[emailer], subject="Rapat <b>NPHD</b>",
                              body="Besok jam 09.00 di ruang rapat.\nMohon hadir.")
    [envelope] = smtp_server.envelopes
    message = _parse(envelope)
    assert message["Subject"] == "[ABAH SMS Center] Rapat <b>NPHD</b>"  # plain text mail: shown as typed
    assert message.get_content_type() == "text/plain"
    body = message.get_content().replace("\r\n", "\n")
    assert "Dari: Adminuser Test" in body and "Besok jam 09.00 di ruang rapat.\nMohon hadir." in body


def test_email_is_sent_at_most_once_even_if_the_task_runs_twice(emailer, smtp_server, immediate_tasks,
                                                                django_capture_on_commit_callbacks):
    from abah.notifications.tasks import send_delivery_email

    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=emailer, kind="other", text="Sekali saja")
    delivery = Delivery.objects.get()
    assert send_delivery_email.call(delivery.pk) == "skipped"
    send_delivery_email.enqueue(delivery.pk)
    assert len(smtp_server.envelopes) == 1


def test_merged_notification_is_not_delivered_again(emailer, smtp_server, immediate_tasks,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=emailer, kind="note_added", text="Catatan 1")
        services.notify(user=emailer, kind="note_added", text="Catatan 2")
    assert len(smtp_server.envelopes) == 1
    assert Delivery.objects.count() == 1


def test_smtp_failure_is_recorded_not_raised_and_not_retried(emailer, settings, immediate_tasks,
                                                             django_capture_on_commit_callbacks):
    from tests.notifications.conftest import _free_port

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": _free_port(), "timeout": 5}}}
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=emailer, kind="other", text="x")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "ConnectionRefused" in delivery.error


def test_sms_copy_goes_to_the_verified_phone_through_the_sms_center(texter):
    n = services.notify(user=texter, kind="reply_received", text="Balasan dari Yayasan Contoh")
    sms = Message.objects.get()
    assert sms.kind == Message.Kind.NOTIFICATION
    assert sms.number == texter.phone
    assert sms.text == "ABAH SMS Center: Balasan dari Yayasan Contoh"
    assert sms.idempotency_key == f"notif-{n.pk}-sms-v1"
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT and delivery.sms_message_id == sms.pk
    call_command("smsd", once=True)
    assert [s.text for s in locmem.outbox] == ["ABAH SMS Center: Balasan dari Yayasan Contoh"]


def test_sms_is_queued_at_most_once(texter):
    services.notify(user=texter, kind="other", text="x")
    delivery = Delivery.objects.get()
    assert services.delivery_send_sms(delivery_id=delivery.pk) == "skipped"
    assert Message.objects.count() == 1


def test_no_sms_without_a_verified_phone(db):
    user = make_user("belum", role="petugas", notify_sms=True, phone="+628123090099")
    services.notify(user=user, kind="other", text="x")
    assert Message.objects.count() == 0 and Delivery.objects.count() == 0


def test_internal_message_sms_names_sender_and_subject_only(admin_user, texter):
    services.message_send(sender=admin_user, recipients=[texter], subject="Rapat", body="Isi rahasia panjang")
    sms = Message.objects.get()
    assert sms.text == "ABAH SMS Center: pesan baru dari Adminuser Test: Rapat"
    assert sms.kind == Message.Kind.NOTIFICATION


def test_both_channels(db, smtp_server, immediate_tasks, django_capture_on_commit_callbacks):
    user = make_user("keduanya", role="petugas", notify_sms=True, notify_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=user, kind="other", text="Dua saluran")
    assert len(smtp_server.envelopes) == 1 and Message.objects.count() == 1
    assert set(Delivery.objects.values_list("channel", "status")) == {("email", "sent"), ("sms", "sent")}
