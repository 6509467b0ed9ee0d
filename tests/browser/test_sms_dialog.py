"""In Debian's Chromium: the Pesan dialog from UCP > Pesan, a typed message gets its green check, a virtual
phone replies, and a dead number shows the red "!" with its reason."""

import pytest
from django.core.management import call_command

from abah.sms import services
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}


def worker():
    call_command("smsd", once=True)


def open_dialog(page, title):
    page.goto(page.base_url + "/sms/pesan/")
    page.locator("[data-testid=open-thread]", has_text=title).first.click()
    page.wait_for_selector("#abah-modal.show [data-testid=sms-dialog]")


def test_pesan_dialog_check_reply_and_dead_number(page, settings, admin_user):
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    alive = services.conversation_for(party_type="test.party", party_id="1", title="Yayasan Al-Hidayah",
                                      number="081230900095")
    dead = services.conversation_for(party_type="test.party", party_id="2", title="Masjid Nurul Iman",
                                     number="081230900000")
    services.queue_message(to=alive.number, text="Yth Bpk/Ibu, undangan penandatanganan NPHD tgl 30 November 2018.",
                           kind="invitation", conversation=alive)
    services.queue_message(to=dead.number, text="Yth Bpk/Ibu, dana hibah Tahap I sudah ditransfer.",
                           kind="disbursement", conversation=dead)
    worker()
    browser_login(page, admin_user.username)

    # UCP > Pesan lists both, with the count the manual shows.
    page.goto(page.base_url + "/sms/pesan/")
    assert page.locator("[data-testid=sms-total]").inner_text() == "Terdapat 2 pesan"
    screenshot(page, "sms-01-ucp-pesan")

    # Type a message: the counter follows, it appears without a mark, then gets the green check.
    open_dialog(page, "Yayasan Al-Hidayah")
    dialog = page.locator("#abah-modal")
    assert dialog.locator("[data-testid=mark-delivered]").count() == 1  # the system invitation
    page.fill("[data-testid=sms-text]", "Mohon konfirmasi kehadiran.")
    assert dialog.locator("[data-testid=sms-counter]").inner_text() == "27 karakter, 1 SMS (GSM-7)"
    page.click("[data-testid=sms-send]")
    typed = dialog.locator("[data-testid=sms-message]", has_text="Mohon konfirmasi kehadiran.")
    typed.wait_for()
    assert typed.get_attribute("data-status") == "queued"
    assert typed.locator("[data-testid=mark-delivered], [data-testid=mark-failed]").count() == 0
    assert dialog.locator("[data-testid=sms-counter]").inner_text() == "0 karakter, 0 SMS (GSM-7)"
    screenshot(page, "sms-02-dialog-pending")
    worker()
    typed.locator("[data-testid=mark-delivered]").wait_for()  # the dialog polls until nothing is pending
    assert dialog.locator("#sms-thread").get_attribute("hx-trigger") is None
    screenshot(page, "sms-03-dialog-delivered")

    # Reply from the virtual phone: it arrives through the worker like a real SMS.
    page.goto(page.base_url + "/sms/telepon-virtual/?number=%2B6281230900095")
    page.locator("[data-testid=phone-message]", has_text="Mohon konfirmasi kehadiran.").wait_for()
    page.fill("[data-testid=reply-text]", "Siap hadir <b>Bpk</b>, terima kasih.")
    page.click("[data-testid=reply-send]")
    page.wait_for_selector("text=Balasan dikirim dari")
    screenshot(page, "sms-04-telepon-virtual")
    worker()
    page.goto(page.base_url + "/sms/pesan/")
    assert page.locator("[data-testid=sms-row]").first.inner_text().count("Siap hadir <b>Bpk</b>, terima kasih.") == 1
    open_dialog(page, "Yayasan Al-Hidayah")
    reply = page.locator("#abah-modal .sms-in", has_text="Siap hadir <b>Bpk</b>, terima kasih.")
    reply.wait_for()
    assert page.locator("#abah-modal .sms-in b").count() == 0  # shown escaped, never as HTML
    screenshot(page, "sms-05-dialog-reply")

    # A dead number: the red "!" with the reason on hover.
    open_dialog(page, "Masjid Nurul Iman")
    mark = page.locator("#abah-modal [data-testid=mark-failed]").first
    mark.wait_for()
    assert mark.inner_text() == "!"
    assert mark.get_attribute("title") == "Nomor tidak aktif (absent subscriber)"
    screenshot(page, "sms-06-dialog-dead-number")
