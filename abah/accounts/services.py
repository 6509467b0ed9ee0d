"""Writes on user accounts: registration, approval, roles, profile and avatar."""

import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import User

# An avatar is decoded only when its header declares at most this many pixels (a 10 KB PNG can declare 80
# megapixels, about 760 MB once decoded). Pillow's own limit is the same, and its warning is an error: Pillow
# refuses by itself an image above the limit wherever the site opens one.
AVATAR_MAX_PIXELS = getattr(settings, "AVATAR_MAX_PIXELS", 4096 * 4096)
Image.MAX_IMAGE_PIXELS = AVATAR_MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)
AVATAR_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}


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
    """Validate an uploaded image and re-encode it as a square PNG; raise ValidationError otherwise.

    The header is read first (format and size, nothing decoded): an image of more than ``AVATAR_MAX_PIXELS``
    pixels is refused before any decoding. The stored image is new pixels only (no EXIF, ICC profile or text).
    """
    if upload.size > settings.AVATAR_MAX_BYTES:
        raise ValidationError(
            _("The image is too large (at most %(size)s MB).") % {"size": settings.AVATAR_MAX_BYTES // (1024 * 1024)}
        )
    side = settings.AVATAR_SIZE
    try:
        upload.seek(0)
        with Image.open(upload) as probe:  # reads the header only
            _avatar_check_header(probe)
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            _avatar_check_header(image)
            if image.format == "JPEG":
                image.draft("RGB", (side, side))  # decode a large JPEG at a reduced scale
            image = ImageOps.exif_transpose(image)
            image = ImageOps.fit(image.convert("RGBA"), (side, side))
            clean = Image.new("RGBA", image.size)
            clean.paste(image)  # new pixels, no metadata carried over
            out = io.BytesIO()
            clean.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError(_("The file is not a valid image.")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    return ContentFile(out.getvalue())


def _avatar_check_header(image) -> None:
    if image.format not in AVATAR_FORMATS:
        raise ValidationError(_("Upload a PNG, JPEG, GIF or WebP image."))
    width, height = image.size
    if width < 1 or height < 1 or width * height > AVATAR_MAX_PIXELS:  # also when warnings were reset
        raise _too_many_pixels()


def _too_many_pixels() -> ValidationError:
    return ValidationError(_("The image has too many pixels (at most %(max)s megapixels).")
                           % {"max": AVATAR_MAX_PIXELS // 1_000_000}, code="pixels")


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
