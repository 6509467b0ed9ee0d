"""Demo logins for `make run` (synthetic people; the passwords are printed on start-up)."""

from django.utils import timezone

from abah.core.demo import register_seeder

from .models import User

DEMO_PASSWORD = "abah-demo-2026"  # noqa: S105 - demo data only, printed by `make run`
DEMO_USERS = [
    # username, first name, last name, role, e-mail, phone (synthetic, verified)
    ("admin", "Siti", "Rahmawati", User.Role.ADMIN, "admin@abah.example", "+6281230900001"),
    ("petugas1", "Budi", "Santoso", User.Role.PETUGAS, "budi@abah.example", "+6281230900002"),
    ("petugas2", "Dewi", "Lestari", User.Role.PETUGAS, "dewi@abah.example", "+6285730900003"),
]


@register_seeder(10, "demo users")
def seed_users(*, size: int, stdout) -> None:
    now = timezone.now()
    for username, first, last, role, email, phone in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first, "last_name": last, "email": email, "role": role, "is_active": True,
                "approved_at": now, "phone": phone, "phone_verified_at": now, "gender": "P" if first in {"Siti", "Dewi"} else "L",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
