"""In Debian's Chromium at 1366 and 390 px, Indonesian and English: the status page says the send window is closed,
how many texts it holds and when they go, updates by itself (htmx polling of its partial) and never gets wider
than the screen; the Admin's "Jam kirim" page opens from it."""

import datetime

import pytest
from django.utils import timezone

from abah.core.formatting import WIB, tanggal
from abah.sms import services
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_status_page_shows_the_closed_window_and_updates_by_itself(page, settings, locmem_gateway):
    today = timezone.localtime(timezone.now(), WIB).date()
    tomorrow = today + datetime.timedelta(days=1)
    settings.SMS_SEND_WINDOW = "08:00-20:00"
    settings.SMS_SEND_DAYS = ",".join(str(d) for d in range(1, 8) if d != today.isoweekday())  # closed all today
    for n in range(3):
        services.queue_message(to=f"08123090020{n}", text="Info rapat", kind="broadcast")
    admin = make_user("adminjam", role="admin")
    browser_login(page, admin.username)
    page.wait_for_load_state("networkidle")
    state = page.locator("[data-testid=window-state]")
    for width, height in ((1366, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(page.base_url + "/sms/status/")
        assert state.get_attribute("data-open") == "no"
        assert f"Di luar jam kirim: 3 pesan akan dikirim mulai 08:00 WIB, {tanggal(tomorrow)}." in state.inner_text()
        assert fits(page), f"the status page is wider than {width} px"
        screenshot(page, f"send-window-status-{width}-id")
    # A fourth text queued meanwhile: the page says so without a reload (it polls its partial every 5 s).
    services.queue_message(to="081230900209", text="Info rapat", kind="broadcast")
    page.locator("[data-testid=window-state]", has_text="4 pesan").wait_for(timeout=15_000)
    # The Admin's settings page, from the status page.
    state.locator("[data-testid=window-settings-link]").click()
    page.wait_for_selector("[data-testid=send-window-form]")
    assert fits(page)
    screenshot(page, "send-window-settings-390-id")
    page.fill("[data-testid=window-start]", "25:00")
    page.click("[data-testid=window-save]")
    assert page.locator("[data-testid=start-error]").inner_text() == "Masukkan jam, misalnya 08:00."
    page.set_viewport_size({"width": 1366, "height": 768})
    screenshot(page, "send-window-settings-1366-id")
    # English.
    page.context.add_cookies([{"name": "abah_language", "value": "en", "url": page.base_url}])
    for width, height in ((1366, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(page.base_url + "/sms/status/")
        assert "Outside the send window: 4 texts will be sent from 08:00 WIB" in state.inner_text()
        assert fits(page)
        screenshot(page, f"send-window-status-{width}-en")
    page.goto(page.base_url + "/sms/pengaturan/")
    assert fits(page)
    screenshot(page, "send-window-settings-390-en")
