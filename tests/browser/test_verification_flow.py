"""In Debian's Chromium: a new user logs in, is sent to Perbaruhi Kontak, enters 08123090095, reads the code
on Telepon Virtual (the simulator gateway), gets a code blocked by five wrong tries, meets the resend
cooldown, asks for a new code and reaches the dashboard. Screenshots of every page."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F

from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}
MASKED = (
    "Kode verifikasi telah dikirim ke +62*****0095. Masukkan di sini untuk memastikan nomor telepon anda tervalidasi."
)


@pytest.fixture(autouse=True)
def _simulator(settings, monkeypatch):
    monkeypatch.delenv("SMS_GATEWAY_BACKEND", raising=False)
    monkeypatch.delenv("SMS_GATEWAY_OPTIONS", raising=False)
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")


def read_code_on_virtual_phone(phone_page, name: str) -> str:
    """Let the SMS Center send, then read the newest SMS of 0812-3090-095 on Telepon Virtual."""
    call_command("smsd", once=True)
    phone_page.goto(phone_page.base_url + "/sms/telepon-virtual/?number=%2B628123090095")
    last = phone_page.locator("[data-testid=phone-message] .sms-text").last
    text = last.inner_text()
    assert text.startswith("ABAH SMS Center: kode verifikasi anda ")
    screenshot(phone_page, name)
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_new_user_verifies_phone_then_reaches_dashboard(page, chromium):
    make_user("admin", role="admin", first_name="Siti")
    make_user("rina", role="petugas", first_name="Rina", phone="")
    base = page.base_url

    # The Admin watches the virtual phones in a second browser.
    phone_context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="id-ID",
                                         timezone_id="Asia/Jakarta")
    phone_page = phone_context.new_page()
    phone_page.set_default_timeout(15_000)
    phone_page.base_url = base
    browser_login(phone_page, "admin")
    phone_page.wait_for_selector("text=Selamat datang, Siti")

    browser_login(page, "rina")
    page.wait_for_selector("h1:has-text('Perbaruhi Kontak')")
    assert page.url == base + "/verifikasi/"
    assert page.locator("select[name=country] option:checked").inner_text() == "Indonesia (+62)"
    assert page.locator("select[name=country] option").first.inner_text() == "Indonesia (+62)"
    screenshot(page, "verification-01-perbaruhi-kontak")

    # Every other page sends her back here.
    page.goto(base + "/notifikasi/")
    page.wait_for_selector("h1:has-text('Perbaruhi Kontak')")

    page.fill("input[name=number]", "0812abc")
    page.click("button:has-text('Perbarui')")
    page.wait_for_selector("text=Nomor telepon tidak boleh berisi huruf.")
    screenshot(page, "verification-02-bad-number")

    page.fill("input[name=number]", "08123090095")
    page.click("button:has-text('Perbarui')")
    page.wait_for_selector("h1:has-text('Konfirmasi Nomor Telepon')")
    assert MASKED in page.inner_text("[data-testid=code-help]")
    resend_text = " ".join(page.inner_text("[data-testid=resend]").split())
    assert resend_text == "Kode tidak terkirim, klik di sini untuk mengirim ulang!"
    screenshot(page, "verification-03-konfirmasi")

    code = read_code_on_virtual_phone(phone_page, "verification-04-telepon-virtual")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        page.fill("input[name=code]", wrong)
        page.click("button:has-text('Konfirmasi')")
        page.wait_for_selector(f"text=Kode verifikasi salah. Sisa {left} kali percobaan.")
    page.fill("input[name=code]", wrong)
    page.click("button:has-text('Konfirmasi')")
    page.wait_for_selector("text=Kode ini tidak dapat dipakai lagi; mintalah kode baru.")
    page.fill("input[name=code]", code)
    page.click("button:has-text('Konfirmasi')")
    page.wait_for_selector("text=Kode ini sudah terlalu sering salah dimasukkan. Mintalah kode baru.")
    screenshot(page, "verification-05-code-blocked")

    page.click("[data-testid=resend] button:has-text('klik di sini')")
    page.wait_for_selector("text=/Harap tunggu \\d+ detik sebelum meminta kode baru\\./")
    screenshot(page, "verification-06-resend-cooldown")

    # A minute passes (moved in the database rather than waited for).
    from abah.verification.models import VerificationCode

    VerificationCode.objects.update(created_at=F("created_at") - timedelta(seconds=61))
    page.click("[data-testid=resend] button:has-text('klik di sini')")
    page.wait_for_selector("text=Kode verifikasi baru telah dikirim.")
    screenshot(page, "verification-07-resent")

    new_code = read_code_on_virtual_phone(phone_page, "verification-08-telepon-virtual-new-code")
    page.fill("input[name=code]", new_code)
    page.click("button:has-text('Konfirmasi')")
    page.wait_for_selector("text=Nomor telepon anda telah diverifikasi.")
    assert page.url == base + "/"
    screenshot(page, "verification-09-dashboard")

    page.click("[data-testid=user-menu]")
    page.click("text=Profilku")
    page.click("a.list-group-item:has-text('Kontak')")
    page.wait_for_selector("text=+628123090095")
    page.wait_for_selector("text=Terverifikasi")
    screenshot(page, "verification-10-profile-contact")
    phone_context.close()


def test_change_number_from_profile_keeps_old_until_confirmed(page, chromium):
    make_user("admin", role="admin", first_name="Siti")
    user = make_user("budi", role="petugas", first_name="Budi")
    old = user.phone
    base = page.base_url
    phone_context = chromium.new_context(locale="id-ID", timezone_id="Asia/Jakarta")
    phone_page = phone_context.new_page()
    phone_page.base_url = base
    browser_login(phone_page, "admin")
    phone_page.wait_for_selector("text=Selamat datang, Siti")

    browser_login(page, "budi")
    page.wait_for_selector("text=Selamat datang, Budi")
    page.goto(base + "/akun/profil/kontak/")
    page.click("a:has-text('Ganti nomor telepon')")
    page.wait_for_selector("h1:has-text('Perbaruhi Kontak')")
    assert old in page.inner_text("main")
    page.fill("input[name=number]", "08123090095")
    page.click("button:has-text('Perbarui')")
    page.wait_for_selector("h1:has-text('Konfirmasi Nomor Telepon')")
    screenshot(page, "verification-11-change-confirm")

    # Still verified with the old number: other pages stay reachable meanwhile.
    page.goto(base + "/akun/profil/kontak/")
    page.wait_for_selector(f"text={old}")
    page.goto(base + "/verifikasi/konfirmasi/")
    code = read_code_on_virtual_phone(phone_page, "verification-12-telepon-virtual-change")
    page.fill("input[name=code]", code)
    page.click("button:has-text('Konfirmasi')")
    page.wait_for_selector("text=Nomor telepon anda telah diverifikasi.")
    assert page.url == base + "/akun/profil/kontak/"
    page.wait_for_selector("text=+628123090095")
    screenshot(page, "verification-13-changed")
    phone_context.close()
