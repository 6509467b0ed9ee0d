"""In Debian's Chromium at 390 × 844 and 1366 × 768: a dashboard badge opens the list it counts, the search finds
words in any order and without punctuation, the filters narrow the list, and the page never grows wider than
the screen."""

import pytest
from django.utils import timezone

from abah.grants.models import Grant
from tests.conftest import browser_login, make_user, screenshot
from tests.grants.conftest import make_grant, make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Grant.Status


def _data():
    budi = make_user("budi", role="petugas", first_name="Budi", last_name="Santoso",
                     phone="+6281230900021", phone_verified_at=timezone.now())
    other = make_user("sari", role="petugas", first_name="Sari", last_name="Lestari",
                      phone="+6281230900022", phone_verified_at=timezone.now())
    krajan = make_institution("Pondok Hidayatul Ulum Krajan", regency="Kabupaten Jember")
    ikhlas = make_institution("Masjid Al-Ikhlas", regency="Kota Malang")
    make_grant(krajan, petugas=budi, status=S.LPJ_TERLAMBAT, year=2026)
    make_grant(ikhlas, petugas=budi, status=S.VERIFIKASI_ADMINISTRASI, year=2026)
    make_grant(ikhlas, petugas=budi, status=S.VERIFIKASI_ADMINISTRASI, year=2025, jenis="BS")
    make_grant(ikhlas, petugas=other, status=S.LPJ_TERLAMBAT, year=2026)


def _fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page {width} px wide"


def _cards(page):
    page.wait_for_load_state("load")
    return page.locator("[data-testid=grant-card]").count()


@pytest.mark.parametrize("size", [(390, 844), (1366, 768)], ids=["390", "1366"])
def test_badge_search_and_filters(page, size):
    _data()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    browser_login(page, "budi")
    page.wait_for_selector("[data-testid=dashboard-grants]")
    badge = page.locator("[data-testid=dashboard-status]", has_text="LPJ terlambat")
    assert badge.inner_text().strip() == "LPJ terlambat: 1"
    screenshot(page, f"grants-filters-00-dashboard-{size[0]}")
    badge.click()
    page.wait_for_url("**/hibah/cari/?*")
    assert _cards(page) == 1 and "Pondok Hidayatul Ulum Krajan" in page.locator("[data-testid=grant-card]").inner_text()
    assert page.locator("[data-testid=filter-status]").input_value() == "LPJ_TERLAMBAT"
    assert page.locator("[data-testid=filter-saya]").is_checked()
    _fits(page)
    screenshot(page, f"grants-filters-01-badge-list-{size[0]}")

    page.locator("[data-testid=filter-reset]").click()
    page.wait_for_load_state("load")
    assert _cards(page) == 4
    for q, name in (("Hidayatul Krajan", "Pondok Hidayatul Ulum Krajan"), ("al ikhlas", "Masjid Al-Ikhlas")):
        page.fill("[data-testid=search-input]", q)
        page.press("[data-testid=search-input]", "Enter")
        page.wait_for_load_state("load")
        cards = page.locator("[data-testid=grant-card]")
        assert cards.count() >= 1 and all(name in t for t in cards.all_inner_texts()), q
        _fits(page)
    assert _cards(page) == 3
    screenshot(page, f"grants-filters-02-words-{size[0]}")

    page.select_option("[data-testid=filter-tahun]", "2026")
    page.check("[data-testid=filter-saya]")
    page.locator("[data-testid=filter-apply]").click()
    page.wait_for_load_state("load")
    assert _cards(page) == 1 and page.locator("[data-testid=search-input]").input_value() == "al ikhlas"
    page.select_option("[data-testid=filter-jenis]", "BS")
    page.select_option("[data-testid=filter-tahun]", "")
    page.locator("[data-testid=filter-apply]").click()
    page.wait_for_load_state("load")
    assert _cards(page) == 1 and "2025-BS-00001" in page.locator("[data-testid=grant-card]").inner_text()
    _fits(page)
    screenshot(page, f"grants-filters-03-filtered-{size[0]}")

    # In English the labels are longer ("Search", "Officer", "Regency/city"): the page still fits.
    page.context.add_cookies([{"name": "abah_language", "value": "en", "url": page.base_url}])
    page.reload()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == "Active data"
    assert page.locator("[data-testid=filter-jenis]").input_value() == "BS"
    _fits(page)
    screenshot(page, f"grants-filters-04-english-{size[0]}")
