"""In Debian's Chromium: the Admin edits the LPJ billing template — an unknown placeholder is refused, the live
preview on a real grant shows the encoding, the segment count and a UCS-2 warning, a new version is saved and an
older one restored. The grant page lists the LPJ reminders and pauses them. A Petugas cannot open the editor."""

import datetime

import pytest

from abah.automation.templating import current_version
from abah.grants import services as grant_services
from abah.grants.models import Grant
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def current():
    return current_version("lpj_billing")


def test_admin_edits_previews_saves_and_restores_a_template(page):
    make_user("admin", role="admin", first_name="Siti")
    make_user("petugas", role="petugas", first_name="Budi")
    institution = grant_services.institution_create(name="Masjid Jami' Al-Ikhlas Sukorejo", regency="Kota Malang",
                                                    bank_name="Bank Jatim", account_number="0011223344556")
    grant_services.contact_set(institution=institution, person="Ahmad Fauzi", phone="081230900095")
    grant = grant_services.grant_create(institution=institution, fiscal_year=2018, amount_requested=400000000)
    Grant.objects.filter(pk=grant.pk).update(status=Grant.Status.LPJ_MENUNGGU, lpj_due_date=datetime.date(2019, 1, 10))
    original = current()

    browser_login(page, "admin")
    page.click("nav .dropdown-toggle:has-text('SMS Center')")
    page.click("nav >> text=Template SMS")
    page.wait_for_selector("[data-testid=template-table]")
    screenshot(page, "automation-01-template-list")
    page.click("[data-testid=edit-lpj_billing]")
    page.wait_for_selector("[data-testid=preview-text]")
    page.fill("[data-testid=preview-grant]", grant.kode)
    page.wait_for_selector(f"[data-testid=template-preview]:has-text('{grant.kode}')")
    preview = page.locator("[data-testid=preview-text]")
    assert "Masjid Jami' Al-Ikhlas Sukorejo" in preview.inner_text()
    assert "10 Januari 2019" in preview.inner_text()
    assert "GSM-7" in page.locator("[data-testid=preview-analysis]").inner_text()

    # An unknown placeholder: the live preview says so, and saving is refused.
    text = page.locator("[data-testid=template-text]")
    text.fill("Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} paling lambat {tgl_batas} pukul {jam}. Biro Kesra Jatim")
    page.wait_for_selector("[data-testid=preview-errors]:has-text('{jam}')")
    page.click("[data-testid=template-save]")
    page.wait_for_selector("[data-testid=text-error]:has-text('{jam}')")
    screenshot(page, "automation-02-template-unknown-placeholder")
    assert current().pk == original.pk

    # Curly quotes force UCS-2: the counter and the preview warn.
    text.fill("Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} \u201cwajib\u201d diterima paling lambat {tgl_batas}. "
              "Biro Kesra Jatim")
    page.wait_for_selector("[data-testid=preview-warning]:has-text('UCS-2')")
    assert "UCS-2" in page.locator("[data-testid=template-counter]").inner_text()
    screenshot(page, "automation-03-template-ucs2-warning")

    new_text = ("Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} ({nominal}) wajib diterima Biro Kesra paling lambat "
                "{tgl_batas}. Abaikan jika sudah. Biro Kesra Jatim")
    text.fill(new_text)
    page.wait_for_selector("[data-testid=preview-text]:has-text('Abaikan jika sudah.')")
    assert not page.locator("[data-testid=preview-warning]").count()
    page.click("[data-testid=template-save]")
    page.wait_for_selector("text=Versi 2 template tersimpan")
    assert current().text == new_text and current().number == 2
    screenshot(page, "automation-04-template-saved")

    page.click("[data-testid=restore-1]")
    page.wait_for_selector("[data-testid=version-3]")
    assert current().text == original.text and current().number == 3
    screenshot(page, "automation-05-template-restored")

    # The grant page shows its LPJ reminders; the Admin pauses them for this grant.
    page.goto(page.base_url + f"/hibah/{grant.pk}/")
    panel = page.locator("[data-testid=lpj-reminders]")
    panel.wait_for()
    assert "H-30" in panel.inner_text() and "9 Januari 2019" in panel.inner_text()
    page.click("[data-testid=reminders-pause]")
    page.wait_for_selector("[data-testid=reminders-paused]")
    screenshot(page, "automation-06-grant-reminders-paused")

    page.click("[data-testid=user-menu]")
    page.click("button:has-text('Keluar')")
    browser_login(page, "petugas")
    page.wait_for_selector("nav .dropdown-toggle:has-text('SMS Center')")
    page.click("nav .dropdown-toggle:has-text('SMS Center')")
    assert page.locator("nav >> text=Template SMS").count() == 0
    response = page.goto(page.base_url + "/hibah/otomatis/templat/lpj_billing/")
    assert response.status == 403
