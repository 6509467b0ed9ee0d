"""In Debian's Chromium, a Petugas finishes the demo himself: SMS Center › Telepon Virtual from the menu, search by
institution and by number, read what the institution received and reply as it; another staff member's code is
not there for him. At 390 and 1366 px, in Indonesian and English (issue 14, item 6)."""

import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from abah.grants import messaging
from abah.sms.models import Message, SimulatorDelivery
from abah.verification.services import verification_request
from tests.conftest import browser_login, make_user, screenshot
from tests.grants.conftest import make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {"default": {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
                         "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]}}}


@pytest.fixture(autouse=True)
def _simulator(settings, monkeypatch):
    monkeypatch.delenv("SMS_GATEWAY_BACKEND", raising=False)
    monkeypatch.delenv("SMS_GATEWAY_OPTIONS", raising=False)
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")


@pytest.mark.parametrize(("language", "menu", "title"), [("id", "Telepon Virtual", "Telepon Virtual"),
                                                         ("en", "Virtual phones", "Virtual phones")])
@pytest.mark.parametrize("width", [390, 1366])
def test_petugas_searches_reads_and_replies_on_virtual_phones(page, language, menu, title, width):
    now = timezone.now()
    make_user("budi", role="petugas", first_name="Budi", phone="+6281230900012", phone_verified_at=now)
    rina = make_user("rina", role="petugas", first_name="Rina", phone="+6281230900013", phone_verified_at=now)
    for name, number in (("Yayasan Nurul Huda Sukorejo", "081230900095"), ("Masjid Al-Ikhlas Krajan", "081230900096")):
        institution = make_institution(name, phone=number)
        messaging.queue_to_institution(institution=institution, text=f"Yth. {name}, undangan NPHD 30 November 2018.",
                                       kind="manual", idempotency_key=f"b-{number}")
    verification_request(user=rina, number="081230900077")  # Rina's code: not for Budi's eyes
    call_command("smsd", once=True)
    code = re.search(r"\d{6}", SimulatorDelivery.objects.get(number="+6281230900077").text).group()

    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 768})
    page.context.add_cookies([{"name": "abah_language", "value": language, "url": page.base_url}])
    browser_login(page, "budi")
    page.wait_for_selector("nav")
    if width == 390:
        page.locator("nav .navbar-toggler").click()
    page.locator("nav .dropdown-toggle", has_text="SMS Center").click()
    page.locator("nav .dropdown-menu.show a", has_text=menu).click()
    page.wait_for_selector("[data-testid=phone-search]")
    assert page.locator("h1").inner_text().strip() == title
    assert page.locator("[data-testid^='phone-+']").count() == 2
    assert code not in page.content() and "+6281230900077" not in page.content()

    page.fill("[data-testid=phone-q]", "Ikhlas Krajan")
    page.locator("[data-testid=phone-search] button[type=submit]").click()
    page.wait_for_url("**q=Ikhlas+Krajan*")
    assert page.locator("[data-testid^='phone-+']").count() == 1
    page.locator("[data-testid='phone-+6281230900096']").click()
    page.get_by_text("Yth. Masjid Al-Ikhlas Krajan, undangan NPHD 30 November 2018.").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"phones-petugas-{language}-{width}")
    page.fill("[data-testid=reply-text]", "Insya Allah hadir")
    page.click("[data-testid=reply-send]")
    page.wait_for_selector(".alert-success")
    call_command("smsd", once=True)
    assert Message.objects.inbound().get().text == "Insya Allah hadir"

    page.fill("[data-testid=phone-q]", "0812 3090 0095")
    page.locator("[data-testid=phone-search] button[type=submit]").click()
    page.wait_for_url("**q=0812*")
    assert page.locator("[data-testid^='phone-+']").count() == 1
    assert page.locator("[data-testid='phone-+6281230900095']").count() == 1

    page.goto(page.base_url + "/sms/telepon-virtual/?number=%2B6281230900077")
    page.wait_for_selector(".alert-danger")
    assert code not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"phones-petugas-refused-{language}-{width}")
