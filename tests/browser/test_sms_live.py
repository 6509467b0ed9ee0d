"""In Debian's Chromium, at 1366 and 390 px: the open Pesan dialog and UCP > Pesan update by themselves.

An institution's reply (stored through the service layer, as the worker does when the gateway hands it over), a
text queued elsewhere and its delivery report (the simulator's, through one worker pass) appear without a reload,
within the poll interval. Before issue 14 the dialog polled only while one of its own texts was pending, so a
reply to a delivered text never appeared (the clerk waited 40 s)."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from abah.sms import services
from abah.sms.models import Message
from abah.sms.views import POLL_SECONDS
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}
NUMBER = "081230900095"
WITHIN = (POLL_SECONDS + 4) * 1000  # one poll interval, and the time to answer and swap
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


def worker():
    """One pass of `manage.py smsd` (sends what is queued, collects the simulator's reports and replies)."""
    call_command("smsd", once=True)


@pytest.fixture
def live_setup(settings):
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    make_user("admin", role="admin", first_name="Siti")
    thread = services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh", number=NUMBER)
    services.queue_message(to=NUMBER, text="Undangan rapat koordinasi hibah", kind="invitation", conversation=thread)
    worker()
    assert not Message.objects.pending().exists()  # nothing pending: the old dialog did not poll at all
    return thread


def in_english(page):
    """The ID/EN switch's cookie: the next page is in English."""
    page.context.add_cookies([{"name": "abah_language", "value": "en", "url": page.base_url}])


def _sized(page, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})


@pytest.mark.parametrize("size", SIZES)
def test_open_dialog_shows_reply_new_text_and_marks_without_reload(page, live_setup, size):
    _sized(page, size)
    browser_login(page, "admin")
    page.goto(page.base_url + f"/sms/pesan/?thread={live_setup.pk}")  # opens the thread's dialog
    dialog = page.locator("#abah-modal.show [data-testid=sms-dialog]")
    expect(dialog).to_be_visible()
    thread = page.locator("#abah-modal [data-testid=sms-thread]")
    expect(thread.locator("[data-testid=mark-delivered]")).to_have_count(1)

    services.receive_message(number=NUMBER, text="Siap hadir, terima kasih")
    reply = thread.locator(".sms-in", has_text="Siap hadir, terima kasih")
    expect(reply).to_be_visible(timeout=WITHIN)

    queued = services.queue_message(to=NUMBER, text="Pencairan tahap 1 sudah ditransfer", kind="disbursement",
                                    conversation=live_setup)
    row = thread.locator(f"#sms-m{queued.pk}")
    expect(row).to_be_visible(timeout=WITHIN)
    expect(row).to_have_attribute("data-status", "queued")
    worker()  # the simulator accepts it and reports it delivered
    expect(row.locator("[data-testid=mark-delivered]")).to_be_visible(timeout=WITHIN)
    expect(thread.locator(f"#sms-m{queued.pk}")).to_have_count(1)
    page.wait_for_function("() => { const b = document.getElementById('sms-thread-body');"
                           " return b.scrollHeight - b.scrollTop - b.clientHeight < 40; }")  # still at the newest
    screenshot(page, f"sms-live-dialog-{size}")
    in_english(page)
    page.goto(page.base_url + f"/sms/pesan/?thread={live_setup.pk}")
    expect(dialog).to_contain_text("Messages: Yayasan Contoh")
    services.receive_message(number=NUMBER, text="Terima kasih, kami hadir")
    expect(thread.locator(".sms-in", has_text="Terima kasih, kami hadir")).to_be_visible(timeout=WITHIN)
    screenshot(page, f"sms-live-dialog-{size}-en")

    # Closed: the poller is gone, so the closed dialog asks nothing more.
    page.locator("#abah-modal .btn-close").click()
    expect(page.locator("#abah-modal")).to_be_hidden()
    expect(page.locator("#abah-modal [data-live]")).to_have_count(0)


@pytest.mark.parametrize("size", SIZES)
def test_ucp_pesan_adds_new_rows_and_changes_marks_without_reload(page, live_setup, size):
    for i in range(12):
        services.queue_message(to=NUMBER, text=f"Pengumuman lama {i:02d}", kind="broadcast", conversation=live_setup)
    worker()
    waiting = services.queue_message(to=NUMBER, text="Jadwal penandatanganan NPHD", kind="invitation",
                                     conversation=live_setup)
    _sized(page, size)
    browser_login(page, "admin")
    page.goto(page.base_url + "/sms/pesan/?direction=&kind=")  # the filter form's parameters stay in the poll
    row = page.locator(f"#sms-r{waiting.pk}")
    expect(row).to_have_attribute("data-status", "queued")
    page.evaluate("window.scrollTo(0, 300)")

    services.receive_message(number=NUMBER, text="Balasan baru dari lembaga")
    first = page.locator("[data-testid=sms-row]").first
    expect(first).to_contain_text("Balasan baru dari lembaga", timeout=WITHIN)
    expect(page.locator("[data-testid=sms-total]")).to_have_text("Terdapat 15 pesan")  # was 14
    worker()  # the waiting invitation is sent and reported delivered
    expect(row).to_have_attribute("data-status", "delivered", timeout=WITHIN)
    expect(row.locator(".bi-check-circle-fill")).to_be_visible()
    assert page.locator("[data-testid=sms-row]").count() == 15  # nothing doubled
    assert page.evaluate("window.scrollY") > 0  # no reload: the reader keeps their place
    assert "direction=" in page.locator("[data-testid=sms-live]").get_attribute("hx-get")
    screenshot(page, f"sms-live-ucp-pesan-{size}")
    in_english(page)
    page.goto(page.base_url + "/sms/pesan/")
    services.receive_message(number=NUMBER, text="Balasan kedua")
    expect(page.locator("[data-testid=sms-row]").first).to_contain_text("Balasan kedua", timeout=WITHIN)
    expect(page.locator("[data-testid=sms-total]")).to_have_text("There are 16 messages")
    screenshot(page, f"sms-live-ucp-pesan-{size}-en")
