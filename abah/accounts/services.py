"""Writes on user accounts: registration, approval, roles, profile and avatar."""

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import User

Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs


@transaction.atomic
def user_register(*, username: str, email: str, first_name: str, last_name: str, password: str) -> User:
    """Create an inactive account that waits for an Admin's approval."""
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, is_active=False)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def user_approve(*, user: User, role: str, by: User) -> User:
    if role not in User.Role.values:
        raise ValidationError(_("Choose a valid role."))
    user.role = role
    user.is_active = True
    user.approved_at = timezone.now()
    user.approved_by = by
    user.rejected_at = None
    user.save(update_fields=["role", "is_active", "approved_at", "approved_by", "rejected_at"])
    return user


@transaction.atomic
def user_reject(*, user: User, by: User) -> User:
    if user.is_active:
        raise ValidationError(_("An active account cannot be rejected; deactivate it instead."))
    user.rejected_at = timezone.now()
    user.save(update_fields=["rejected_at"])
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str, by: User) -> User:
    if role not in User.Role.values:
        raise ValidationError(_("Choose a valid role."))
    if user == by and role != User.Role.ADMIN:
        raise ValidationError(_("You cannot remove your own Admin role."))
    user.role = role
    user.save(update_fields=["role"])
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool, by: User) -> User:
    if user == by and not active:
        raise ValidationError(_("You cannot deactivate your own account."))
    if active and not user.role:
        raise ValidationError(_("Approve the account and choose its role first."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


def avatar_process(upload) -> ContentFile:
    """Validate an uploaded image and re-encode it as a square PNG; raise ValidationError otherwise."""
    if upload.size > settings.AVATAR_MAX_BYTES:
        raise ValidationError(
            _("The image is too large (at most %(size)s MB).") % {"size": settings.AVATAR_MAX_BYTES // (1024 * 1024)}
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            if image.format not in {"PNG", "JPEG", "GIF", "WEBP"}:
                raise ValidationError(_("Upload a PNG, JPEG, GIF or WebP image."))
            image = ImageOps.exif_transpose(image)
            image = ImageOps.fit(image.convert("RGBA"), (settings.AVATAR_SIZE, settings.AVATAR_SIZE))
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("The file is not a valid image.")) from None
    return ContentFile(out.getvalue())


@transaction.atomic
def user_set_avatar(*, user: User, upload) -> User:
    content = avatar_process(upload)
    old = user.avatar.name if user.avatar else None
    user.avatar.save(f"user-{user.pk}.png", content, save=False)
    user.save(update_fields=["avatar"])
    if old and old != user.avatar.name:
        transaction.on_commit(lambda: user.avatar.storage.delete(old))
    return user


@transaction.atomic
def user_remove_avatar(*, user: User) -> User:
    if user.avatar:
        name = user.avatar.name
        user.avatar = ""
        user.save(update_fields=["avatar"])
        transaction.on_commit(lambda: User.avatar.field.storage.delete(name))
    return user
