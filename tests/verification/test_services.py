"""Phone verification rules: hashed codes, expiry, attempts, resend limits, uniqueness, number change."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from abah.sms.backends import locmem
from abah.sms.models import Message
from abah.verification import services
from abah.verification.models import VerificationCode
from tests.conftest import make_user
from tests.verification.conftest import received_code

NUMBER = "+628123090095"

pytestmark = pytest.mark.django_db


def test_request_queues_the_code_sms_at_the_highest_priority(newbie):
    row = services.verification_request(user=newbie, number="08123090095", region="ID")
    sms = Message.objects.get(pk=row.sms_message_id)
    assert sms.kind == Message.Kind.CODE
    assert sms.number == NUMBER
    assert sms.priority == max(Message.PRIORITY_BY_KIND.values())
    assert sms.priority > Message.PRIORITY_BY_KIND[Message.Kind.MANUAL]
    newbie.refresh_from_db()
    assert newbie.phone == "" and newbie.phone_verified_at is None  # nothing is set before confirming


def test_sms_text_names_the_application_and_the_code_and_asks_nothing_else(newbie):
    services.verification_request(user=newbie, number="08123090095")
    code = received_code(NUMBER)
    [sms] = Message.objects.filter(kind=Message.Kind.CODE)
    assert sms.text == (
        f"ABAH SMS Center: kode verifikasi anda {code}. Berlaku 10 menit. Jangan berikan kode ini kepada siapa pun."
    )
    assert "?" not in sms.text and "http" not in sms.text


def test_code_is_never_stored_in_clear_text(newbie):
    row = services.verification_request(user=newbie, number="08123090095")
    code = received_code(NUMBER)
    assert row.code_hash != code and len(row.code_hash) == 64
    # Read every column of the table as stored, not through the model.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {VerificationCode._meta.db_table}")  # noqa: S608
        rows = cursor.fetchall()
    assert rows
    assert all(code not in str(value) for value in rows[0])
    assert services.hash_code(code, row.salt) == row.code_hash


def test_right_code_sets_phone_and_verified_at(newbie):
    services.verification_request(user=newbie, number="08123090095")
    user = services.verification_confirm(user=newbie, code=received_code(NUMBER))
    user.refresh_from_db()
    assert user.phone == NUMBER and user.phone_verified_at is not None
    assert services.pending_code(user) is None
    assert VerificationCode.objects.get().used_at is not None


def test_code_with_spaces_is_accepted(newbie):
    services.verification_request(user=newbie, number="08123090095")
    code = received_code(NUMBER)
    services.verification_confirm(user=newbie, code=f" {code[:3]} {code[3:]} ")
    newbie.refresh_from_db()
    assert newbie.phone_verified


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_five_wrong_codes_block_the_code_even_for_the_right_one(newbie):
    services.verification_request(user=newbie, number="08123090095")
    code = received_code(NUMBER)
    messages = []
    for _ in range(5):
        with pytest.raises(ValidationError) as error:
            services.verification_confirm(user=newbie, code=_wrong(code))
        messages.append(error.value.messages[0])
    assert messages[0] == "Kode verifikasi salah. Sisa 4 kali percobaan."
    assert messages[3] == "Kode verifikasi salah. Sisa 1 kali percobaan."
    assert messages[4] == "Kode verifikasi salah. Kode ini tidak dapat dipakai lagi; mintalah kode baru."
    assert VerificationCode.objects.get().attempts == 5
    with pytest.raises(ValidationError, match="terlalu sering salah"):
        services.verification_confirm(user=newbie, code=code)
    newbie.refresh_from_db()
    assert not newbie.phone_verified


def test_a_new_code_after_blocking_works_and_the_old_one_does_not(newbie):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.verification_request(user=newbie, number="08123090095")
        old = received_code(NUMBER)
        for _ in range(5):
            with pytest.raises(ValidationError):
                services.verification_confirm(user=newbie, code=_wrong(old))
        traveller.shift(timedelta(seconds=61))
        services.verification_resend(user=newbie)
        new = received_code(NUMBER)
        if new != old:
            with pytest.raises(ValidationError, match="salah"):
                services.verification_confirm(user=newbie, code=old)
        services.verification_confirm(user=newbie, code=new)
    newbie.refresh_from_db()
    assert newbie.phone_verified


def test_code_expires_after_ten_minutes(newbie):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.verification_request(user=newbie, number="08123090095")
        code = received_code(NUMBER)
        traveller.shift(timedelta(minutes=10, seconds=1))
        with pytest.raises(ValidationError, match="kedaluwarsa"):
            services.verification_confirm(user=newbie, code=code)
    newbie.refresh_from_db()
    assert not newbie.phone_verified


def test_malformed_code_is_refused_without_counting_an_attempt(newbie):
    services.verification_request(user=newbie, number="08123090095")
    with pytest.raises(ValidationError, match="terdiri dari 6 angka"):
        services.verification_confirm(user=newbie, code="12ab")
    with pytest.raises(ValidationError, match="Masukkan kode verifikasi"):
        services.verification_confirm(user=newbie, code="  ")
    assert VerificationCode.objects.get().attempts == 0


def test_confirm_without_a_code_asks_for_the_number(newbie):
    with pytest.raises(ValidationError, match="Tidak ada kode"):
        services.verification_confirm(user=newbie, code="123456")


def test_resend_is_refused_during_the_cooldown_then_allowed(newbie):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.verification_request(user=newbie, number="08123090095")
        traveller.shift(timedelta(seconds=20))
        with pytest.raises(ValidationError) as error:
            services.verification_resend(user=newbie)
        assert error.value.messages == ["Harap tunggu 40 detik sebelum meminta kode baru."]
        assert VerificationCode.objects.count() == 1
        traveller.shift(timedelta(seconds=40))
        services.verification_resend(user=newbie)
    assert VerificationCode.objects.count() == 2
    assert Message.objects.filter(kind=Message.Kind.CODE).count() == 2
    first, second = VerificationCode.objects.order_by("id")
    assert first.superseded_at is not None and second.is_pending


def test_new_number_request_also_respects_the_cooldown(newbie):
    services.verification_request(user=newbie, number="08123090095")
    with pytest.raises(ValidationError, match="Harap tunggu"):
        services.verification_request(user=newbie, number="08123090096")
    assert VerificationCode.objects.count() == 1


def test_at_most_five_codes_per_hour(newbie):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.verification_request(user=newbie, number="08123090095")
        for _ in range(4):
            traveller.shift(timedelta(seconds=61))
            services.verification_resend(user=newbie)
        traveller.shift(timedelta(seconds=61))
        with pytest.raises(ValidationError) as error:
            services.verification_resend(user=newbie)
        assert error.value.messages == [
            "Terlalu banyak kode dikirim dalam satu jam terakhir. Coba lagi dalam 55 menit."
        ]
        assert VerificationCode.objects.count() == 5
        traveller.shift(timedelta(minutes=55))
        services.verification_resend(user=newbie)
    assert VerificationCode.objects.count() == 6


def test_resend_without_a_pending_number_is_refused(newbie):
    with pytest.raises(ValidationError, match="Tidak ada nomor"):
        services.verification_resend(user=newbie)


@pytest.mark.parametrize(
    "raw,message",
    [
        ("", "Masukkan nomor telepon genggam"),
        ("0812abc", "huruf"),
        ("0315551234", "bukan nomor telepon genggam"),
        ("08123090095, 08123090096", "satu"),
    ],
)
def test_bad_numbers_are_refused_and_nothing_changes(newbie, raw, message):
    from django.utils import translation

    with translation.override("id"), pytest.raises(ValidationError) as error:
        services.verification_request(user=newbie, number=raw)
    assert message.lower() in " ".join(error.value.messages).lower()
    assert VerificationCode.objects.count() == 0
    assert Message.objects.count() == 0


def test_number_verified_by_another_user_is_refused(newbie):
    make_user("pemilik", role="petugas", phone=NUMBER, phone_verified_at=timezone.now())
    with pytest.raises(ValidationError, match="sudah diverifikasi oleh pengguna lain"):
        services.verification_request(user=newbie, number="08123090095")
    assert VerificationCode.objects.count() == 0


def test_number_taken_between_request_and_confirm_is_refused(newbie):
    services.verification_request(user=newbie, number="08123090095")
    code = received_code(NUMBER)
    make_user("cepat", role="petugas", phone=NUMBER, phone_verified_at=timezone.now())
    with pytest.raises(ValidationError, match="sudah diverifikasi oleh pengguna lain"):
        services.verification_confirm(user=newbie, code=code)
    newbie.refresh_from_db()
    assert newbie.phone == "" and not newbie.phone_verified


def test_changing_the_number_keeps_the_old_one_until_confirmed(petugas):
    old = petugas.phone
    services.verification_request(user=petugas, number="08123090095")
    petugas.refresh_from_db()
    assert petugas.phone == old and petugas.phone_verified
    code = received_code(NUMBER)
    services.verification_confirm(user=petugas, code=code)
    petugas.refresh_from_db()
    assert petugas.phone == NUMBER and petugas.phone_verified


def test_own_verified_number_again_is_refused(petugas):
    with pytest.raises(ValidationError, match="sudah menjadi nomor telepon anda"):
        services.verification_request(user=petugas, number=petugas.phone)


def test_code_sms_is_withdrawn_or_blanked_once_the_code_is_spent(newbie):
    from abah.sms.models import Message

    first = services.verification_request(user=newbie, number="08123090095")
    # A second request before the worker ran: the first text is obsolete and withdrawn, never sent.
    VerificationCode.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    second = services.verification_request(user=newbie, number="08123090095")
    assert Message.objects.get(pk=first.sms_message_id).status == Message.Status.CANCELLED
    code = received_code(NUMBER)
    assert Message.objects.get(pk=second.sms_message_id).status == Message.Status.SENT
    services.verification_confirm(user=newbie, code=code)
    # The delivery report still comes in and settles the (blanked) message.
    locmem.deliver(locmem.outbox[-1])
    call_command("smsd", once=True)
    assert Message.objects.get(pk=second.sms_message_id).status == Message.Status.DELIVERED
    texts = list(Message.objects.filter(kind=Message.Kind.CODE).values_list("text", flat=True))
    assert all(code not in text for text in texts), texts
    assert Message.objects.get(pk=second.sms_message_id).text == services.redacted_text()
