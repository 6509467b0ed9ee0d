"""In Debian's Chromium started with --lang=en-US (a browser whose own date order is mm/dd/yyyy): date fields show
and take dd/mm/yyyy, in Indonesian and in English, typed on the numeric keypad without "/", at 390 and 1366 px
(issue 14, item 9)."""

import datetime

import pytest

from abah import audit
from abah.core.formatting import WIB
from tests import components
from tests.conftest import PASSWORD, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def english_chromium(chromium):
    """A second Chromium started with --lang=en-US, from the session's Playwright (a second sync_playwright in the
    same thread is refused while the first runs)."""
    browser = chromium.browser_type.launch(
        executable_path=components.CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--lang=en-US"],
    )
    yield browser
    browser.close()


@pytest.mark.parametrize(("language", "placeholder", "wrong"), [
    ("id", "hh/bb/tttt", "Masukkan tanggal sebagai hh/bb/tttt, misalnya 30/11/2018."),
    ("en", "dd/mm/yyyy", "Enter a date as dd/mm/yyyy, for example 30/11/2018."),
])
@pytest.mark.parametrize("width", [390, 1366])
def test_dates_are_day_first_in_an_english_browser(english_chromium, live_server, language, placeholder, wrong,
                                                   width):
    make_user("admin", role="admin", first_name="Siti")
    at = datetime.datetime(2018, 11, 30, 9, 15, tzinfo=WIB)
    audit.record(None, "export", target="grants.grant", count=3, detail="scope=aktif", at=at)
    audit.record(None, "export", target="grants.grant", count=4, detail="scope=arsip", at=at + datetime.timedelta(days=5))
    context = english_chromium.new_context(viewport={"width": width, "height": 844 if width == 390 else 768},
                                           locale="en-US", timezone_id="Asia/Jakarta")
    context.add_cookies([{"name": "abah_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        assert page.evaluate("navigator.language") == "en-US"
        page.goto(live_server.url + "/akun/masuk/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("nav")
        page.goto(live_server.url + "/log-audit/")
        start = page.locator("#id_start")
        assert start.get_attribute("type") == "text" and start.get_attribute("placeholder") == placeholder
        assert start.get_attribute("inputmode") == "numeric"
        # Typed on a numeric keypad: digits only; the "/" are put in.
        start.click()
        page.keyboard.type("30112018")
        assert start.input_value() == "30/11/2018"
        page.locator("#id_end").click()
        page.keyboard.type("1/12/2018")
        assert page.locator("#id_end").input_value() == "1/12/2018"
        page.click("[data-testid=audit-filter]")
        page.wait_for_url("**/log-audit/?*start=30%2F11%2F2018*")
        assert page.locator("[data-testid=audit-row]").count() == 1  # 30 November only, not 5 December
        assert page.locator("#id_start").input_value() == "30/11/2018"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"date-input-{language}-{width}")
        # The browser's own order (mm/dd/yyyy) is refused with the way to write it.
        page.fill("#id_start", "11/30/2018")
        page.click("[data-testid=audit-filter]")
        page.get_by_text(wrong).wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"date-input-error-{language}-{width}")
    finally:
        context.close()
