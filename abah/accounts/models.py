"""The bureau's staff: a custom user with role, phone and notification preferences."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A staff member. Registration creates an inactive user with no role; an Admin approves it.

    Status:  registered (inactive, role "") → approved (active, role admin|petugas)
                                            → rejected (inactive, rejected_at set)
             approved → deactivated (inactive) → approved again
    """

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        PETUGAS = "petugas", _("Petugas")

    class Gender(models.TextChoices):
        MALE = "L", _("Male")
        FEMALE = "P", _("Female")

    email = models.EmailField(_("email address"), unique=True)
    first_name = models.CharField(_("first name"), max_length=150)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, blank=True)
    phone = models.CharField(_("phone number"), max_length=16, blank=True, help_text=_("E.164, e.g. +628123090095"))
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)
    notify_email = models.BooleanField(_("notifications by e-mail"), default=False)
    notify_sms = models.BooleanField(_("notifications by text message"), default=False)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        "self", verbose_name=_("approved by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)

    objects = UserManager()

    REQUIRED_FIELDS = ["email", "first_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=models.Q(phone_verified_at__isnull=False) & ~models.Q(phone=""),
                name="accounts_user_verified_phone_unique",
            )
        ]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.role == self.Role.ADMIN or self.is_superuser)

    @property
    def is_pending(self) -> bool:
        return not self.is_active and not self.role and self.rejected_at is None and self.approved_at is None

    @property
    def phone_verified(self) -> bool:
        return bool(self.phone and self.phone_verified_at)
