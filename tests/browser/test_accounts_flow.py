"""In Debian's Chromium: register, approve as Admin, log in, edit every profile tab; screenshots of each page."""

import io

import pytest
from PIL import Image

from tests.conftest import PASSWORD, browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code_sent_to(number: str) -> str:
    """The verification code in the SMS queued for the number (as the SMS Center's outbox holds it)."""
    import re

    from abah.sms.models import Message

    text = Message.objects.filter(number=number, kind=Message.Kind.CODE).latest("id").text
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_register_approve_login_and_edit_profile(page, tmp_path):
    make_user("admin", role="admin", first_name="Siti")
    base = page.base_url

    page.goto(base + "/")
    assert page.locator("h2").first.inner_text() == "Masuk"
    screenshot(page, "accounts-01-login")

    page.click("text=Daftar")
    page.fill("input[name=username]", "rina")
    page.fill("input[name=email]", "rina@example.test")
    page.fill("input[name=first_name]", "Rina")
    page.fill("input[name=last_name]", "Wulandari")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    screenshot(page, "accounts-02-register")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Pendaftaran diterima")
    screenshot(page, "accounts-03-register-done")

    browser_login(page, "rina")
    page.wait_for_selector("text=menunggu persetujuan Admin")
    screenshot(page, "accounts-04-login-pending")

    browser_login(page, "admin")
    page.wait_for_selector("text=Selamat datang, Siti")
    page.goto(base + "/akun/pengguna/")
    row = page.locator("[data-testid=user-row-rina]")
    row.locator("select[name=role]").select_option("petugas")
    screenshot(page, "accounts-05-user-list-pending")
    row.locator("button:has-text('Setujui')").click()
    page.wait_for_selector("text=Rina Wulandari telah disetujui")
    screenshot(page, "accounts-06-user-approved")
    page.click("[data-testid=user-menu]")
    page.click("button:has-text('Keluar')")

    browser_login(page, "rina")
    # First login: the phone is verified once (Perbaruhi Kontak → Konfirmasi Nomor Telepon).
    page.wait_for_selector("h1:has-text('Perbaruhi Kontak')")
    page.fill("input[name=number]", "08123090095")
    page.click("button:has-text('Perbarui')")
    page.wait_for_selector("h1:has-text('Konfirmasi Nomor Telepon')")
    page.fill("input[name=code]", _code_sent_to("+628123090095"))
    page.click("button:has-text('Konfirmasi')")
    page.wait_for_selector("text=Nomor telepon anda telah diverifikasi.")
    page.wait_for_selector("text=Selamat datang, Rina")
    screenshot(page, "accounts-07-dashboard")

    page.click("[data-testid=user-menu]")
    page.click("text=Profilku")
    page.fill("input[name=birth_date]", "17/05/1990")
    page.select_option("select[name=gender]", "P")
    screenshot(page, "accounts-08-profile")
    page.click("button:has-text('Perbarui')")
    page.wait_for_selector("text=Profil anda telah diperbarui")

    page.click("a:has-text('Avatar')")
    image = tmp_path / "foto.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 80, 40)).save(buffer, format="JPEG")
    image.write_bytes(buffer.getvalue())
    page.set_input_files("input[name=avatar]", str(image))
    page.click("button:has-text('Unggah')")
    page.wait_for_selector("text=Avatar anda telah diperbarui")
    screenshot(page, "accounts-09-avatar")

    bad = tmp_path / "bukan.png"
    bad.write_bytes(b"bukan gambar")
    page.set_input_files("input[name=avatar]", str(bad))
    page.click("button:has-text('Unggah')")
    page.wait_for_selector("text=Berkas ini bukan gambar yang sah")

    page.click("a.list-group-item:has-text('Kontak')")
    page.wait_for_selector("text=Nomor telepon")
    screenshot(page, "accounts-10-contact")

    page.click("a.list-group-item:has-text('Sandi')")
    page.fill("input[name=old_password]", PASSWORD)
    page.fill("input[name=new_password1]", "Sandi-Baru-9876")
    page.fill("input[name=new_password2]", "Sandi-Baru-9876")
    page.click("button:has-text('Ubah sandi')")
    page.wait_for_selector("text=Sandi anda telah diubah")
    screenshot(page, "accounts-11-password")

    page.click("a.list-group-item:has-text('Pemberitahuan')")
    page.check("input[name=notify_email]")
    page.click("button:has-text('Perbarui')")
    page.wait_for_selector("text=Pengaturan pemberitahuan anda telah diperbarui")
    assert page.is_checked("input[name=notify_email]")
    screenshot(page, "accounts-12-notifications")

    page.click("[data-testid=user-menu]")
    page.click("button:has-text('Keluar')")
    browser_login(page, "rina", "Sandi-Baru-9876")
    page.wait_for_selector("text=Selamat datang, Rina")


def test_petugas_sees_403_page_on_admin_url(page):
    make_user("budi", role="petugas", first_name="Budi")
    browser_login(page, "budi")
    page.wait_for_selector("text=Selamat datang, Budi")
    response = page.goto(page.base_url + "/akun/pengguna/")
    assert response.status == 403
    assert page.locator("text=Akses ditolak").first.is_visible()
    screenshot(page, "accounts-13-forbidden")
