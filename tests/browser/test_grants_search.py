"""In Debian's Chromium: search by name → card → Kontak dialog (bad numbers refused, a good one saved in E.164);
search by exact code jumps to the grant; NPHD signed asks for the contact."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from abah.grants.models import Contact, Grant
from tests.conftest import browser_login, make_user, screenshot
from tests.grants.conftest import make_grant, make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Grant.Status


def _data():
    petugas = make_user("budi", role="petugas", first_name="Budi", last_name="Santoso",
                        phone="+6281230900021", phone_verified_at=timezone.now())
    institution = make_institution("LPTQ Kabupaten Sidoarjo")
    grant = make_grant(institution, petugas=petugas, status=S.DITETAPKAN, dpa_number="5435140501000005",
                       amount_approved=Decimal("9000000000"), sk_number="188/45/KPTS/013/2018",
                       sk_date=datetime.date(2018, 1, 19), sk_stage=1, sk_issuer="GUBERNUR JAWA TIMUR")
    for _ in range(2):
        make_grant(institution, petugas=petugas, status=S.ARSIP, year=2017)
    make_grant(make_institution("Masjid Al-Ikhlas"), petugas=petugas)
    return grant


def test_search_card_kontak(page):
    grant = _data()
    browser_login(page, "budi")
    page.wait_for_selector("[data-testid=dashboard-grants]")
    assert "Hibah saya" in page.locator("[data-testid=dashboard-grants]").inner_text()
    screenshot(page, "grants-00-dashboard")

    page.fill("nav input[name=q]", "lptq")
    page.press("nav input[name=q]", "Enter")
    page.wait_for_selector("[data-testid=grant-card]")
    summary = page.locator("[data-testid=search-summary]").inner_text()
    assert "Menampilkan hasil untuk Data Aktif dari 1 s/d 1 dari total 1." in summary
    assert "Lihat hasil pencarian Data Arsip (2 hasil)." in summary
    card = page.locator("[data-testid=grant-card]")
    assert card.count() == 1
    text = card.inner_text()
    for label in ("Kode", "2018-HK-00001", "DPA", "Nominasi", "Rp9.000.000.000,00", "Petugas", "Budi Santoso",
                  "Rekomendasi", "REGULER", "Dibuat", "Undangan NPHD", "Pesan", "Tambah Catatan", "Log",
                  "Pencairan Tahap I", "SPJ"):
        assert label in text, label
    assert card.locator("[data-testid=card-pesan]").is_enabled()
    screenshot(page, "grants-01-search-results")

    card.locator("[data-testid=card-contact]").click()
    page.wait_for_selector("#abah-modal.show [data-testid=dialog-title]")
    assert "Kontak: LPTQ Kabupaten Sidoarjo" in page.locator("#abah-modal [data-testid=dialog-title]").inner_text()
    modal = page.locator("#abah-modal")
    modal.locator("input[name=phone]").fill("0812-xxxx")
    modal.locator("input[name=person]").fill("Nur Hidayat")
    modal.locator("[data-testid=dialog-submit]").click()
    page.wait_for_selector("#abah-modal .invalid-feedback")
    assert "huruf" in modal.locator(".invalid-feedback").inner_text()
    screenshot(page, "grants-02-kontak-letters")

    modal.locator("input[name=phone]").fill("031-5678901")
    modal.locator("[data-testid=dialog-submit]").click()
    page.wait_for_selector("#abah-modal .invalid-feedback:has-text('telepon genggam')")
    screenshot(page, "grants-03-kontak-landline")
    assert not Contact.objects.exists()

    modal.locator("input[name=phone]").fill("0812 1630 0095")
    modal.locator("[data-testid=dialog-submit]").click()
    page.wait_for_selector("text=Kontak LPTQ Kabupaten Sidoarjo sekarang Nur Hidayat, +6281216300095.")
    screenshot(page, "grants-04-kontak-saved")
    assert Contact.objects.get().phone == "+6281216300095"

    # Pesan opens the institution's SMS thread, addressed to the contact just saved.
    page.locator("[data-testid=grant-card] [data-testid=card-pesan]").click()
    page.wait_for_selector("#abah-modal.show [data-testid=sms-dialog]")
    dialog_text = page.locator("#abah-modal [data-testid=sms-dialog]").inner_text()
    assert "LPTQ Kabupaten Sidoarjo" in dialog_text and "0812-1630-0095" in dialog_text.replace(" ", "-")
    screenshot(page, "grants-04b-pesan-dialog")
    page.locator("#abah-modal .btn-close").click()
    page.wait_for_selector("#abah-modal", state="hidden")

    page.click("[data-testid=link-arsip]")
    page.wait_for_selector("text=Menampilkan hasil untuk Data Arsip")
    assert page.locator("[data-testid=grant-card]").count() == 2
    screenshot(page, "grants-05-arsip")

    page.fill("nav input[name=q]", grant.kode)
    page.press("nav input[name=q]", "Enter")
    page.wait_for_selector("[data-testid=grant-kode]")
    assert page.url.endswith(f"/hibah/{grant.pk}/")
    screenshot(page, "grants-06-grant-page")


def test_nphd_signed_asks_for_contact(page):
    grant = _data()
    browser_login(page, "budi")
    page.wait_for_selector("text=Selamat datang, Budi")
    page.goto(page.base_url + f"/hibah/{grant.pk}/")
    page.click("[data-testid=card-nphd_sign]")
    page.wait_for_selector("#abah-modal.show [data-testid=contact-required]")
    assert "Silahkan sediakan Nomor Kontak untuk LPTQ Kabupaten Sidoarjo" in page.locator(
        "#abah-modal [data-testid=dialog-title]").inner_text()
    modal = page.locator("#abah-modal")
    modal.locator("input[name=phone]").fill("081216300095")
    modal.locator("input[name=person]").fill("Nur Hidayat")
    screenshot(page, "grants-07-nphd-contact")
    modal.locator("[data-testid=dialog-submit]").click()
    page.wait_for_selector("text=NPHD telah dicatat ditandatangani")
    grant.refresh_from_db()
    assert grant.status == S.NPHD_DITANDATANGANI
    screenshot(page, "grants-08-nphd-signed")
