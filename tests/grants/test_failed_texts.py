"""Failed texts reach a person (issue 14, item 2): the worker's sweep tells the petugas responsible once, bundled,
in words, with a link to "Pesan gagal"; a crash between the notification and its record loses nothing and tells
nobody twice; the list keeps codes and copies private; a clerk fixes the number and resends in one step; the
dashboard counts what is left."""

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from abah.grants import messaging
from abah.grants.models import Contact
from abah.notifications import failed
from abah.notifications.models import Delivery, MessageFailure, Notification
from abah.sms import services as sms_services
from abah.sms.daemon import Daemon
from abah.sms.models import Message
from tests.conftest import make_user

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db

KIND = Notification.Kind.MESSAGE_FAILED


@pytest.fixture(autouse=True)
def _gateway(locmem_gateway):
    return locmem_gateway


def failed_notes():
    return list(Notification.objects.filter(kind=KIND).order_by("user_id", "id"))


def institutions_of(petugas, count, *, start=0):
    found = []
    for i in range(start, start + count):
        institution = make_institution(f"Lembaga {i:02d}", phone=f"0812309{i:05d}")
        make_grant(institution, petugas=petugas)
        found.append(institution)
    return found


def invite(institution, text="Undangan penandatanganan NPHD"):
    return messaging.queue_to_institution(institution=institution, text=text, kind=Message.Kind.INVITATION,
                                          idempotency_key=f"test-invite:{institution.pk}")


def failed_text(institution, *, kind=Message.Kind.INVITATION, sender=None, text="Undangan NPHD",
                code="absent_subscriber", reason="Absent subscriber"):
    message = messaging.queue_to_institution(institution=institution, text=text, kind=kind, sender=sender,
                                             idempotency_key=f"test-failed:{institution.pk}:{kind}:{text}")
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED, failed_at=timezone.now(),
                                                 attempts=1, gateway="default", error_code=code,
                                                 error_reason=reason)
    message.refresh_from_db()
    return message


def test_the_worker_tells_each_petugas_once_for_25_failures(petugas, petugas2, admin_user, locmem_gateway,
                                                            django_capture_on_commit_callbacks):
    petugas.notify_sms = True  # the copy by SMS, per their choice, goes out once too
    petugas.save(update_fields=["notify_sms"])
    mine = institutions_of(petugas, 20)
    theirs = institutions_of(petugas2, 5, start=20)
    for institution in mine + theirs:
        invite(institution)
        locmem_gateway.refuse[institution.contact_phone] = ("unknown_subscriber", "Unknown subscriber", False)
    with django_capture_on_commit_callbacks(execute=True):
        Daemon(batch_size=100).tick()  # sends, fails them all, and sweeps in the same round
    assert Message.objects.filter(kind=Message.Kind.INVITATION, status=Message.Status.FAILED).count() == 25
    notes = failed_notes()
    assert [(n.user, n.count) for n in notes] == [(petugas, 1), (petugas2, 1)]  # nobody else, the Admin neither
    assert notes[0].text == (
        f"20 SMS ke Lembaga 00, Lembaga 01, Lembaga 02 dan 17 lainnya tidak terkirim ({notes[0].text.split('(')[1]}"
    )
    assert "Perbaiki nomornya dan kirim ulang dari daftar Pesan gagal." in notes[0].text
    assert notes[1].text.startswith("5 SMS ke Lembaga 20, Lembaga 21, Lembaga 22 dan 2 lainnya tidak terkirim (")
    assert all(n.url == reverse("notifications:failed_list") for n in notes)
    assert MessageFailure.objects.filter(told_at__isnull=False).count() == 25
    # Swept again (another round, another worker): nobody is told twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert failed.sweep() == 0
        Daemon(batch_size=100).tick()
    assert [(n.user, n.count) for n in failed_notes()] == [(petugas, 1), (petugas2, 1)]
    copies = Message.objects.filter(kind=Message.Kind.NOTIFICATION, addressee=petugas)
    assert copies.count() == 1 and "20 SMS ke Lembaga 00" in copies.get().text


def test_a_crash_between_notification_and_record_loses_nothing_and_tells_nobody_twice(
        petugas, petugas2, monkeypatch, django_capture_on_commit_callbacks):
    petugas.notify_sms = True
    petugas.save(update_fields=["notify_sms"])
    for institution in institutions_of(petugas, 3) + institutions_of(petugas2, 2, start=3):
        failed_text(institution)
    real = MessageFailure.objects.bulk_create

    def crash(*args, **kwargs):  # the database goes away after the notifications, before the records
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(MessageFailure.objects, "bulk_create", crash)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DatabaseError):
        failed.sweep()
    assert failed_notes() == [] and not Delivery.objects.exists() and not MessageFailure.objects.exists()
    assert not Message.objects.filter(kind=Message.Kind.NOTIFICATION).exists()

    monkeypatch.setattr(MessageFailure.objects, "bulk_create", real)
    with django_capture_on_commit_callbacks(execute=True):
        assert failed.sweep() == 5
        assert failed.sweep() == 0
    assert [(n.user, n.count) for n in failed_notes()] == [(petugas, 1), (petugas2, 1)]
    assert failed_notes()[0].text.startswith("3 SMS ke Lembaga 00, Lembaga 01, Lembaga 02 tidak terkirim (")
    assert Message.objects.filter(kind=Message.Kind.NOTIFICATION, addressee=petugas).count() == 1


def test_one_failure_in_words_and_who_is_told(petugas, petugas2, admin_user, django_capture_on_commit_callbacks):
    typed = failed_text(institutions_of(petugas, 1)[0], kind=Message.Kind.MANUAL, sender=petugas2)
    nobody = make_institution("Panti Asuhan Kasih", phone="081230900777")
    failed_text(nobody, kind=Message.Kind.BILLING)  # nobody assigned: the Admins
    code = sms_services.queue_message(to="081230900888", text="Kode 123456", kind=Message.Kind.CODE)
    Message.objects.filter(pk=code.pk).update(status=Message.Status.FAILED, failed_at=timezone.now(),
                                              addressee=petugas)
    with django_capture_on_commit_callbacks(execute=True):
        assert failed.sweep() == 3  # the code is recorded and tells nobody
    notes = {n.user: n for n in failed_notes()}
    assert set(notes) == {admin_user, petugas2}  # a typed text: its sender, not the grant's petugas
    assert notes[petugas2].text.startswith("SMS ke Lembaga 00 yang dikirim ")
    assert notes[petugas2].text.endswith(
        " tidak terkirim. Perbaiki nomornya dan kirim ulang dari daftar Pesan gagal.")
    assert notes[admin_user].text.startswith("SMS ke Panti Asuhan Kasih yang dikirim ")
    assert MessageFailure.objects.filter(message=typed).exists() and MessageFailure.objects.filter(message=code).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert failed.sweep() == 0


def test_lease_exhaustion_is_a_failure_the_sweep_tells(petugas, settings, django_capture_on_commit_callbacks):
    settings.SMS_MAX_ATTEMPTS = 2
    message = invite(institutions_of(petugas, 1)[0])
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, attempts=2, worker="dead",
                                                 lease_until=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        Daemon(batch_size=10).tick()
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    [note] = failed_notes()
    assert note.user == petugas and note.text.startswith("SMS ke Lembaga 00 yang dikirim ")


def test_another_petugas_does_not_see_my_failed_code_or_copy(petugas, petugas2, admin_user, client):
    code = sms_services.queue_message(to=petugas.phone, text="Kode verifikasi anda 654321", kind="code")
    copy = sms_services.queue_message(to=petugas.phone, text="ABAH: Kontak Lembaga diubah", kind="notification")
    Message.objects.filter(pk__in=[code.pk, copy.pk]).update(status=Message.Status.FAILED, addressee=petugas,
                                                             failed_at=timezone.now())
    url = reverse("notifications:failed_list")
    client.force_login(petugas)
    mine = client.get(url).content.decode()
    assert mine.count('data-testid="failed-row"') == 2 and "ABAH: Kontak Lembaga diubah" in mine
    assert "654321" not in mine  # a code's digits stay masked, even for its owner
    for other in (petugas2, admin_user):
        client.force_login(other)
        body = client.get(url).content.decode()
        assert 'data-testid="failed-row"' not in body and "Kontak Lembaga" not in body
        assert failed.failed_count(other) == 0
        assert client.post(reverse("notifications:failed_resend", args=[copy.pk]),
                           {f"m{copy.pk}-phone": "081298765432"}).status_code == 404


def test_fix_the_number_and_resend_in_one_step(petugas, petugas2, client):
    institution = institutions_of(petugas, 1)[0]
    old = failed_text(institution, text="Undangan NPHD Senin 7 Desember 09:00")
    url = reverse("notifications:failed_list")
    resend = reverse("notifications:failed_resend", args=[old.pk])
    field = f"m{old.pk}-phone"
    client.force_login(petugas)
    page = client.get(url).content.decode()
    assert "Lembaga 00" in page and 'data-testid="failed-number">0812-3090-0000<' in page
    assert "Nomor tidak aktif" in page and "Absent subscriber" not in page  # the reason in Indonesian words
    assert 'value="0812-3090-0000"' in page  # the current number, prefilled

    for bad, words in (("0812 ABC 9999", "Nomor telepon tidak boleh berisi huruf."),
                       ("031-3456789", "Ini bukan nomor telepon genggam (telepon rumah tidak dapat menerima SMS)."),
                       ("", "Masukkan nomor telepon genggam.")):
        response = client.post(resend, {field: bad})
        assert response.status_code == 400 and words in response.content.decode()
        assert "<details" in response.content.decode() and " open " in response.content.decode()
    # Refused: nothing changed.
    assert list(Contact.objects.filter(institution=institution).values_list("phone", "is_current")) == [
        ("+6281230900000", True)]
    assert Message.objects.filter(conversation=old.conversation).count() == 1
    assert not MessageFailure.objects.exists()

    # Another petugas may not fix an institution that is not theirs.
    client.force_login(petugas2)
    assert client.post(resend, {field: "081298765432"}).status_code == 404

    client.force_login(petugas)
    response = client.post(resend, {field: "0812-9876-5432", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == url
    current = Contact.objects.get(institution=institution, is_current=True)
    assert current.phone == "+6281298765432" and current.person == "Ahmad Fauzi" and current.created_by == petugas
    assert Contact.objects.filter(institution=institution, is_current=False, phone="+6281230900000").exists()
    new = Message.objects.get(conversation=old.conversation, status=Message.Status.QUEUED)
    assert (new.text, new.number, new.sender, new.kind) == (old.text, "+6281298765432", petugas, old.kind)
    old.refresh_from_db()
    assert old.status == Message.Status.FAILED
    assert MessageFailure.objects.get(message=old).resent == new
    page = client.get(url).content.decode()
    assert 'data-testid="failed-resent"' in page and "dikirim ulang" in page
    assert f'action="{resend}"' not in page  # no second resend from the list
    assert client.post(resend, {field: "081298765432"}).status_code == 400  # nor by hand
    assert Message.objects.filter(conversation=old.conversation).count() == 2


def test_dashboard_counts_my_failed_texts_and_hides_at_zero(petugas, petugas2, client):
    institutions = institutions_of(petugas, 3)
    for institution in institutions:
        failed_text(institution)
    done = failed_text(institutions[0], text="Sudah dikirim ulang")
    MessageFailure.objects.create(message=done, resent=invite(institutions[0]), resent_by=petugas)
    failed_text(institutions_of(petugas2, 1, start=5)[0])
    client.force_login(petugas)
    body = client.get(reverse("core:dashboard")).content.decode()
    assert 'data-testid="dashboard-failed"' in body
    assert 'data-testid="dashboard-failed-count">3<' in body
    assert reverse("notifications:failed_list") in body
    make_grant(institutions[0], petugas=None)  # (irrelevant grants do not change the count)
    assert failed.failed_count(petugas) == 3 and failed.failed_count(petugas2) == 1
    lonely = make_user("petugasbaru", role="petugas")
    client.force_login(lonely)
    body = client.get(reverse("core:dashboard")).content.decode()
    assert 'data-testid="dashboard-failed"' not in body
    assert f'href="{reverse("notifications:failed_list")}"' in body  # the list stays in the SMS Center menu
    assert "Pesan gagal" in body
