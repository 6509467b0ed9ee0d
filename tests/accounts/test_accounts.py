"""Registration with admin approval, login rules, roles, profile tabs and their validation."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from abah.accounts.models import User
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def register(client, username="calon", email="calon@example.test"):
    return client.post(
        reverse("accounts:register"),
        {"username": username, "email": email, "first_name": "Calon", "last_name": "Petugas",
         "password1": PASSWORD, "password2": PASSWORD},
    )


def test_login_page_is_indonesian_by_default(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Masuk" in content and "Lupa sandi?" in content and 'lang="id"' in content


def test_english_is_selectable(client):
    client.post(reverse("core:set_language"), {"language": "en", "next": "/akun/masuk/"})
    content = client.get(reverse("accounts:login")).content.decode()
    assert "Log in" in content and 'lang="en"' in content


def test_registration_creates_inactive_user_who_cannot_log_in(client):
    response = register(client)
    assert response.status_code == 200
    user = User.objects.get(username="calon")
    assert not user.is_active and user.role == "" and user.is_pending
    response = client.post(reverse("accounts:login"), {"username": "calon", "password": PASSWORD})
    assert response.status_code == 200
    assert "menunggu persetujuan Admin" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_password_for_inactive_user_reveals_nothing(client):
    register(client)
    response = client.post(reverse("accounts:login"), {"username": "calon", "password": "salah-sekali"})
    assert "menunggu persetujuan" not in response.content.decode()


def test_duplicate_email_registration_refused(client, petugas, mailoutbox):
    # Refused without saying so on the page (that would tell anyone the address has an account): the owner of
    # the address is told by e-mail (tests/accounts/test_registration_security.py).
    response = register(client, username="lain", email=petugas.email.upper())
    assert response.status_code == 200
    assert "sudah ada" not in response.content.decode()
    assert not User.objects.filter(username="lain").exists()
    assert [m.to for m in mailoutbox] == [[petugas.email]]


def test_admin_approves_and_user_can_log_in(admin_client):
    from django.test import Client

    register(Client())
    user = User.objects.get(username="calon")
    response = admin_client.post(reverse("accounts:user_approve", args=[user.pk]), {"role": "petugas"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active and user.role == "petugas" and user.approved_by is not None
    admin_client.logout()
    response = admin_client.post(reverse("accounts:login"), {"username": "calon", "password": PASSWORD})
    assert response.status_code == 302


def test_admin_rejects_registration(admin_client):
    user = make_user("ditolak", role="", active=False)
    admin_client.post(reverse("accounts:user_reject", args=[user.pk]))
    user.refresh_from_db()
    assert user.rejected_at is not None and not user.is_active


def test_invalid_role_changes_nothing(admin_client):
    user = make_user("calon2", role="", active=False)
    admin_client.post(reverse("accounts:user_approve", args=[user.pk]), {"role": "superboss"})
    user.refresh_from_db()
    assert not user.is_active and user.role == ""


def test_admin_cannot_deactivate_self(admin_client, admin_user):
    response = admin_client.post(reverse("accounts:user_deactivate", args=[admin_user.pk]), follow=True)
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert "tidak dapat menonaktifkan akun anda sendiri" in response.content.decode()


def test_deactivated_user_is_logged_out_and_cannot_log_in(admin_client, petugas):
    from django.test import Client

    client = Client()
    admin_client.post(reverse("accounts:user_deactivate", args=[petugas.pk]))
    petugas.refresh_from_db()
    assert not petugas.is_active
    response = client.post(reverse("accounts:login"), {"username": petugas.username, "password": PASSWORD})
    assert response.status_code == 200 and "tidak aktif" in response.content.decode()


def test_petugas_gets_403_on_admin_pages(petugas_client, petugas2):
    assert petugas_client.get(reverse("accounts:user_list")).status_code == 403
    response = petugas_client.post(reverse("accounts:user_role", args=[petugas2.pk]), {"role": "admin"})
    assert response.status_code == 403
    petugas2.refresh_from_db()
    assert petugas2.role == "petugas"


def test_user_list_filters(admin_client):
    make_user("menunggu", role="", active=False)
    content = admin_client.get(reverse("accounts:user_list")).content.decode()
    assert "menunggu" in content
    content = admin_client.get(reverse("accounts:user_list") + "?state=active").content.decode()
    assert "menunggu" not in content


def test_login_rate_limited(client, petugas):
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": petugas.username, "password": "salah"})
    response = client.post(reverse("accounts:login"), {"username": petugas.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


# ---------------------------------------------------------------- profile


def test_profile_update(petugas_client, petugas):
    response = petugas_client.post(reverse("accounts:profile"), {
        "username": petugas.username, "email": "baru@example.test", "first_name": "Budi", "last_name": "S",
        "birth_date": "1985-04-12", "gender": "L",
    })
    assert response.status_code == 302
    petugas.refresh_from_db()
    assert petugas.email == "baru@example.test" and str(petugas.birth_date) == "1985-04-12"


@pytest.mark.parametrize("field,value,error", [
    ("birth_date", "2999-01-01", "tanggal lahir yang benar"),
    ("email", "bukan-email", "alamat email"),
    ("gender", "X", "Masukkan pilihan yang valid"),
    ("first_name", "", "tidak boleh kosong"),
])
def test_profile_bad_input_changes_nothing(petugas_client, petugas, field, value, error):
    data = {"username": petugas.username, "email": petugas.email, "first_name": "Budi", "last_name": "S",
            "birth_date": "1985-04-12", "gender": "L", field: value}
    response = petugas_client.post(reverse("accounts:profile"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    before = petugas.email, petugas.first_name
    petugas.refresh_from_db()
    assert (petugas.email, petugas.first_name) == before


def _image(fmt="PNG", size=(600, 400)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 100)).save(buffer, format=fmt)
    buffer.seek(0)
    buffer.name = f"a.{fmt.lower()}"
    return buffer


def test_avatar_upload_is_reencoded_square_png(petugas_client, petugas):
    response = petugas_client.post(reverse("accounts:profile_avatar"), {"avatar": _image("JPEG")})
    assert response.status_code == 302
    petugas.refresh_from_db()
    with Image.open(petugas.avatar.path) as stored:
        assert stored.format == "PNG" and stored.size == (256, 256)
    assert petugas_client.get(petugas.avatar.url).status_code == 200


@pytest.mark.parametrize("upload,error", [
    (lambda: _named(b"%PDF-1.4 not an image", "cv.pdf"), "bukan gambar yang sah"),
    (lambda: _named(b"<script>alert(1)</script>", "x.png"), "bukan gambar yang sah"),
    (lambda: _named(b"\x89PNG" + b"0" * (3 * 1024 * 1024), "big.png"), "terlalu besar"),
])
def test_bad_avatar_upload_is_refused(petugas_client, petugas, upload, error):
    response = petugas_client.post(reverse("accounts:profile_avatar"), {"avatar": upload()})
    assert response.status_code == 200
    assert error in response.content.decode()
    petugas.refresh_from_db()
    assert not petugas.avatar


def _named(data, name):
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def test_notification_preferences(petugas_client, petugas):
    petugas_client.post(reverse("accounts:profile_notifications"), {"notify_email": "on"})
    petugas.refresh_from_db()
    assert petugas.notify_email and not petugas.notify_sms


def test_password_change(petugas_client, petugas):
    response = petugas_client.post(reverse("accounts:profile_password"), {
        "old_password": PASSWORD, "new_password1": "Sandi-Baru-9876", "new_password2": "Sandi-Baru-9876"})
    assert response.status_code == 302
    petugas.refresh_from_db()
    assert petugas.check_password("Sandi-Baru-9876")


def test_password_change_wrong_old_password(petugas_client, petugas):
    response = petugas_client.post(reverse("accounts:profile_password"), {
        "old_password": "salah", "new_password1": "Sandi-Baru-9876", "new_password2": "Sandi-Baru-9876"})
    assert response.status_code == 200
    petugas.refresh_from_db()
    assert petugas.check_password(PASSWORD)


def test_password_reset_sends_email(client, petugas, mailoutbox):
    client.post(reverse("accounts:password_reset"), {"email": petugas.email})
    assert len(mailoutbox) == 1
    assert "/akun/sandi/reset/" in mailoutbox[0].body
