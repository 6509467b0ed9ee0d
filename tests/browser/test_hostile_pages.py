"""In Debian's Chromium: a fiscal year that is not a year (sent by a tampered form) is refused on the Tutup Tahun
Anggaran page with a clear Indonesian message and nothing archived; screenshots at 1366 px and 390 px."""

import pytest

from abah.grants.models import Grant
from tests.conftest import browser_login, make_user, screenshot
from tests.grants.conftest import make_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 390])
def test_fiscal_year_close_refuses_a_tampered_year(page, width):
    make_user("admin", role="admin", first_name="Siti")
    grant = make_grant(year=2018)
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, "admin")
    page.wait_for_url(page.base_url + "/")
    page.goto(page.base_url + "/hibah/tahun-anggaran/")
    page.eval_on_selector("input[name=fiscal_year]", "el => el.value = '99999'")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("form button[type=submit]", has_text="Tutup").first.click()
    alert = page.locator("[data-testid=fiscal-year-error]")
    alert.wait_for()
    assert alert.inner_text().strip() == "Masukkan tahun anggaran antara 2000 dan 2100."
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, f"hostile-fiscal-year-{width}")
    grant.refresh_from_db()
    assert grant.status != Grant.Status.ARSIP
