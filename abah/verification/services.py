"""Phone verification: send a code by SMS, check it, and only then set the user's phone as verified.

Rules (after Notify's VerifyCode and Twilio Verify): a random 6-digit code, stored as a salted HMAC,
valid 10 minutes, at most 5 wrong attempts per code, a new code no sooner than 60 seconds after the
last one and at most 5 codes per hour. The user's current (verified) number stays until the new one
is confirmed.
"""

import math
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from abah.sms.phone import parse_mobile

from .models import VerificationCode

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_COOLDOWN = timedelta(seconds=60)
MAX_SENDS_PER_HOUR = 5


def hash_code(code: str, salt: str) -> str:
    return salted_hmac("abah.verification.code", f"{salt}:{code}", algorithm="sha256").hexdigest()


def pending_code(user) -> VerificationCode | None:
    """The user's newest code that is neither used nor superseded (it may be expired or blocked)."""
    return (
        VerificationCode.objects.filter(user=user, used_at__isnull=True, superseded_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )


def _lock_user(user):
    # Serialises requests of one user (two tabs, double clicks) so the limits below hold.
    return get_user_model().objects.select_for_update().get(pk=user.pk)


def _check_send_limits(user, now) -> None:
    recent = list(
        VerificationCode.objects.filter(user=user, created_at__gt=now - timedelta(hours=1))
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    if recent and now - recent[0] < RESEND_COOLDOWN:
        seconds = max(1, math.ceil((recent[0] + RESEND_COOLDOWN - now).total_seconds()))
        raise ValidationError(
            ngettext(
                "Please wait %(seconds)d second before asking for a new code.",
                "Please wait %(seconds)d seconds before asking for a new code.",
                seconds,
            )
            % {"seconds": seconds},
            code="cooldown",
        )
    if len(recent) >= MAX_SENDS_PER_HOUR:
        minutes = max(1, math.ceil((recent[-1] + timedelta(hours=1) - now).total_seconds() / 60))
        raise ValidationError(
            ngettext(
                "Too many codes have been sent in the last hour. Try again in %(minutes)d minute.",
                "Too many codes have been sent in the last hour. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
            code="hourly",
        )


def _check_not_taken(user, phone: str) -> None:
    taken = (
        get_user_model().objects.filter(phone=phone, phone_verified_at__isnull=False).exclude(pk=user.pk).exists()
    )
    if taken:
        raise ValidationError(
            _("This phone number has already been verified by another user."), code="taken"
        )


def sms_text(code: str) -> str:
    """The SMS: the application's name and the code, nothing else is asked of the reader."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "%(app)s: your verification code is %(code)s. It is valid for %(minutes)d minutes. "
            "Do not share it with anyone."
        ) % {"app": settings.SITE_NAME, "code": code, "minutes": CODE_TTL.seconds // 60}


def retire_code_messages(user) -> None:
    """Once a code is used or replaced, its SMS is of no use to anyone: a text still queued is withdrawn, and
    the text of one handed to the operator (or withdrawn) is overwritten in the SMS Center, so neither the
    outbox nor UCP > Pesan keeps a spent code in clear."""
    from abah.sms.models import Message
    from abah.sms.services import cancel_messages

    ids = list(
        VerificationCode.objects.filter(user=user, sms_message_id__isnull=False)
        .filter(Q(used_at__isnull=False) | Q(superseded_at__isnull=False))
        .values_list("sms_message_id", flat=True)
    )
    if not ids:
        return
    cancel_messages(ids=ids)
    # A spent code is no longer hidden from its addressee (abah.sms.access), its digits stay masked.
    now = timezone.now()
    Message.objects.filter(pk__in=ids, hidden_until__gt=now).update(hidden_until=now)
    # Everything but a text in a worker's hands right now (SENDING): a SENT text waits only for its report.
    Message.objects.filter(pk__in=ids).exclude(status=Message.Status.SENDING).exclude(
        text=redacted_text()).update(text=redacted_text())


def redacted_text() -> str:
    return sms_text("\u2022" * CODE_LENGTH)


def _issue(user, phone: str, now) -> VerificationCode:
    from abah.sms.models import Message
    from abah.sms.services import queue_message

    VerificationCode.objects.filter(user=user, used_at__isnull=True, superseded_at__isnull=True).update(
        superseded_at=now
    )
    retire_code_messages(user)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))
    salt = secrets.token_hex(8)
    row = VerificationCode.objects.create(
        user=user, phone=phone, salt=salt, code_hash=hash_code(code, salt), created_at=now,
        expires_at=now + CODE_TTL,
    )
    message = queue_message(
        to=phone,
        text=sms_text(code),
        kind=Message.Kind.CODE,
        priority=max(Message.PRIORITY_BY_KIND.values()),  # codes go before everything else
        idempotency_key=f"verification-{row.pk}",
        meta={"verification": row.pk, "to_user": user.pk},
    )
    # Addressed to the user who asked for it, and hidden from everyone, that user included, while it is valid
    # (abah.sms.access): whoever asks for a code must not be able to read it in UCP > Pesan.
    Message.objects.filter(pk=message.pk).update(addressee=user, hidden_until=row.expires_at)
    VerificationCode.objects.filter(pk=row.pk).update(sms_message_id=message.pk)
    row.sms_message_id = message.pk
    return row


@transaction.atomic
def verification_request(*, user, number: str, region: str = "ID") -> VerificationCode:
    """Perbaruhi Kontak: validate the number and text it a new code. Nothing changes on error."""
    phone = parse_mobile(number, region)
    user = _lock_user(user)
    if user.phone_verified and user.phone == phone:
        raise ValidationError(_("This number is already your verified phone number."), code="same")
    _check_not_taken(user, phone)
    now = timezone.now()
    _check_send_limits(user, now)
    return _issue(user, phone, now)


@transaction.atomic
def verification_resend(*, user) -> VerificationCode:
    """"Klik di sini": a new code to the number being verified, within the cooldown and hourly limits."""
    user = _lock_user(user)
    current = pending_code(user)
    if current is None:
        raise ValidationError(_("There is no number waiting for verification. Enter your phone number."),
                              code="nothing")
    now = timezone.now()
    _check_send_limits(user, now)
    return _issue(user, current.phone, now)


@transaction.atomic
def verification_cancel(*, user) -> int:
    """Drop a pending change of number; the current number stays."""
    return VerificationCode.objects.filter(user=user, used_at__isnull=True, superseded_at__isnull=True).update(
        superseded_at=timezone.now()
    )


def verification_confirm(*, user, code: str):
    """Check the code. On success the user's phone and phone_verified_at are set and the user is returned;
    otherwise a ValidationError says why (a wrong attempt is counted even though it raises)."""
    code = "".join((code or "").split())
    error = None
    with transaction.atomic():
        user = _lock_user(user)
        row = (
            VerificationCode.objects.select_for_update()
            .filter(user=user, used_at__isnull=True, superseded_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        now = timezone.now()
        if row is None:
            error = ValidationError(_("There is no code waiting for confirmation. Enter your phone number."),
                                    code="nothing")
        elif not code:
            error = ValidationError(_("Enter the verification code."), code="empty")
        elif not (code.isdigit() and len(code) == CODE_LENGTH):
            error = ValidationError(
                _("The verification code consists of %(n)d digits.") % {"n": CODE_LENGTH}, code="format"
            )
        elif row.attempts >= MAX_ATTEMPTS:
            error = ValidationError(
                _("This code has been entered wrongly too many times. Ask for a new code."), code="blocked"
            )
        elif row.expires_at <= now:
            error = ValidationError(_("This code has expired. Ask for a new code."), code="expired")
        elif not constant_time_compare(hash_code(code, row.salt), row.code_hash):
            VerificationCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            left = MAX_ATTEMPTS - row.attempts - 1
            if left > 0:
                message = ngettext(
                    "The verification code is wrong. %(left)d attempt left.",
                    "The verification code is wrong. %(left)d attempts left.",
                    left,
                ) % {"left": left}
            else:
                message = _("The verification code is wrong. This code can no longer be used; ask for a new code.")
            error = ValidationError(message, code="wrong")
        else:
            try:
                _check_not_taken(user, row.phone)
                with transaction.atomic():
                    user.phone = row.phone
                    user.phone_verified_at = now
                    user.save(update_fields=["phone", "phone_verified_at"])
            except ValidationError as taken:
                error = taken
            except IntegrityError:  # another user verified the same number a moment ago
                error = ValidationError(
                    _("This phone number has already been verified by another user."), code="taken"
                )
            else:
                VerificationCode.objects.filter(pk=row.pk).update(used_at=now)
                VerificationCode.objects.filter(
                    user=user, used_at__isnull=True, superseded_at__isnull=True
                ).update(superseded_at=now)
                retire_code_messages(user)
    if error is not None:
        raise error
    return user
