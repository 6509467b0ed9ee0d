"""In Debian's Chromium, on the demo data of `make run`: the Pesan dialog of a demo institution opened from its
search card; a typed message shows without a mark, then with the green check; a virtual phone replies and the
reply appears in the dialog and in UCP > Pesan; a dead number shows the red "!" with its reason."""

import pytest
from django.core.management import call_command

from abah.accounts.demo import DEMO_PASSWORD
from abah.grants.messaging import PARTY_TYPE
from abah.sms.models import Conversation, Message
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}
DIALOG = "#abah-modal.show [data-testid=sms-dialog]"


def worker():
    """One pass of `manage.py smsd`, as the worker of `make run` does every half second."""
    call_command("smsd", once=True)


def modal_settled(page):
    """The shared modal is open and its fade-in is over (screenshots taken mid-transition look washed out)."""
    page.wait_for_selector(DIALOG)
    page.wait_for_function(
        "() => { const m = document.getElementById('abah-modal');"
        " return m && getComputedStyle(m).opacity === '1'"
        " && getComputedStyle(m.querySelector('.modal-dialog')).transform === 'none'; }"
    )


def close_modal(page):
    page.locator("#abah-modal .btn-close").click()
    page.wait_for_selector("#abah-modal", state="hidden")


def open_pesan_from_card(page, name):
    """Navbar search by institution name, then the card's Pesan button (an htmx dialog in the shared modal)."""
    page.fill("nav input[name=q]", name)
    page.press("nav input[name=q]", "Enter")
    card = page.locator("[data-testid=grant-card]", has_text=name).first
    card.wait_for()
    card.locator("[data-testid=card-pesan]").click()
    modal_settled(page)
    assert name in page.locator("#abah-modal [data-testid=sms-dialog]").inner_text()


def type_and_send(page, text):
    dialog = page.locator("#abah-modal")
    page.fill("[data-testid=sms-text]", text)
    page.click("[data-testid=sms-send]")
    typed = dialog.locator("[data-testid=sms-message]", has_text=text)
    typed.wait_for()
    return typed


def test_pesan_dialog_check_reply_and_dead_number(page, settings):
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    call_command("seed_demo", size=40, stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    demo = Conversation.objects.filter(party_type=PARTY_TYPE, messages__direction="in").order_by("id").first()
    assert demo is not None, "seed_demo made no Pesan thread with a reply"
    name = demo.title
    browser_login(page, "admin", DEMO_PASSWORD)
    page.wait_for_selector("nav input[name=q]")

    # The demo thread: the delivered message with its green check and the institution's reply, oldest first.
    open_pesan_from_card(page, name)
    dialog = page.locator("#abah-modal")
    history = dialog.locator("[data-testid=sms-message]")
    assert history.count() == 2
    assert history.nth(0).locator("[data-testid=mark-delivered]").count() == 1
    assert "sms-in" in history.nth(1).get_attribute("class")
    screenshot(page, "sms-01-dialog-demo-thread")

    # Type a message: the counter follows; it appears without a mark, then gets the green check.
    page.fill("[data-testid=sms-text]", "Mohon konfirmasi kehadiran.")
    assert dialog.locator("[data-testid=sms-counter]").inner_text() == "27 karakter, 1 SMS (GSM-7)"
    typed = type_and_send(page, "Mohon konfirmasi kehadiran.")
    assert typed.get_attribute("data-status") == "queued"
    assert typed.locator("[data-testid=mark-delivered], [data-testid=mark-failed]").count() == 0
    assert dialog.locator("[data-testid=sms-counter]").inner_text() == "0 karakter, 0 SMS (GSM-7)"
    assert dialog.locator("#sms-thread").get_attribute("hx-trigger")  # polling while something is pending
    screenshot(page, "sms-02-dialog-pending")
    worker()
    typed.locator("[data-testid=mark-delivered]").wait_for()  # the open dialog polls until nothing is pending
    assert dialog.locator("#sms-thread").get_attribute("hx-trigger") == "every 4s, abah-poll"  # still: for replies
    screenshot(page, "sms-03-dialog-delivered")
    close_modal(page)

    # The institution replies from its virtual phone: the reply arrives through the worker like a real SMS.
    page.goto(page.base_url + "/sms/telepon-virtual/")
    page.locator(f"[data-testid='phone-{demo.number}']").click()
    page.locator("[data-testid=phone-message]", has_text="Mohon konfirmasi kehadiran.").wait_for()
    page.fill("[data-testid=reply-text]", "Siap hadir <b>Bpk</b>, terima kasih.")
    page.click("[data-testid=reply-send]")
    page.wait_for_selector("text=Balasan dikirim dari")
    screenshot(page, "sms-04-telepon-virtual")
    worker()

    # … in UCP > Pesan, newest first, escaped …
    page.goto(page.base_url + "/sms/pesan/")
    first_row = page.locator("[data-testid=sms-row]").first
    assert "Siap hadir <b>Bpk</b>, terima kasih." in first_row.inner_text()
    assert name in first_row.inner_text()
    assert page.locator("[data-testid=sms-row] b").count() == 0
    screenshot(page, "sms-05-ucp-pesan")

    # … and in the dialog, on the institution's side, never as HTML.
    page.locator("[data-testid=sms-row]").first.locator("[data-testid=open-thread]").click()
    modal_settled(page)
    reply = page.locator("#abah-modal .sms-in", has_text="Siap hadir <b>Bpk</b>, terima kasih.")
    reply.wait_for()
    assert page.locator("#abah-modal .sms-text b").count() == 0
    screenshot(page, "sms-06-dialog-reply")
    close_modal(page)

    # A dead number: give another demo institution a number that exists but never receives (the simulator's
    # "…0000"), through its Kontak dialog, then text it: the red "!" appears with the reason on hover.
    other = Conversation.objects.filter(party_type=PARTY_TYPE).exclude(pk=demo.pk).order_by("id").first()
    assert other is not None
    other_name = other.title
    page.fill("nav input[name=q]", other_name)
    page.press("nav input[name=q]", "Enter")
    card = page.locator("[data-testid=grant-card]", has_text=other_name).first
    card.wait_for()
    card.locator("[data-testid=card-contact]").click()
    page.wait_for_selector("#abah-modal.show [data-testid=dialog-title]")
    page.locator("#abah-modal input[name=phone]").fill("0812 3090 0000")
    page.locator("#abah-modal input[name=person]").fill("Nomor Mati")
    page.locator("#abah-modal [data-testid=dialog-submit]").click()
    page.wait_for_selector(f"text=Kontak {other_name} sekarang Nomor Mati, +6281230900000.")
    page.wait_for_selector("#abah-modal", state="hidden")
    open_pesan_from_card(page, other_name)
    dead = type_and_send(page, "Mohon hubungi kantor Biro Kesra.")
    worker()
    mark = dead.locator("[data-testid=mark-failed]")
    mark.wait_for()
    assert mark.inner_text() == "!"
    assert mark.get_attribute("title") == "Nomor tidak aktif: telepon mati atau di luar jangkauan"
    assert Message.objects.get(text="Mohon hubungi kantor Biro Kesra.").number == "+6281230900000"
    mark.hover()  # the reason is the mark's title: the browser shows it on hover
    screenshot(page, "sms-07-dialog-dead-number")


def test_long_thread_opens_with_the_newest_and_loads_earlier_messages(page, settings, admin_user):
    """A thread of 70 messages: the dialog shows the newest 50 (scrolled to the bottom) and a button for the rest."""
    from abah.sms import services

    settings.SMS_GATEWAYS = SIMULATOR
    thread = services.conversation_for(party_type="test.party", party_id="1", title="Yayasan Panjang",
                                       number="081230900095")
    services.queue_messages([{"to": thread.number, "text": f"Pesan nomor {i:02d}", "kind": "broadcast",
                              "conversation": thread} for i in range(70)])
    browser_login(page, admin_user.username)
    page.goto(page.base_url + "/sms/pesan/")
    page.locator("[data-testid=open-thread]").first.click()
    modal_settled(page)
    dialog = page.locator("#abah-modal")
    assert dialog.locator("[data-testid=sms-message]").count() == 50
    assert "Pesan nomor 69" in dialog.locator("[data-testid=sms-message]").last.inner_text()
    dialog.locator("[data-testid=sms-older]").click()
    dialog.locator("[data-testid=sms-message]", has_text="Pesan nomor 00").wait_for()
    assert dialog.locator("[data-testid=sms-message]").count() == 70
    assert dialog.locator("[data-testid=sms-older]").count() == 0
    texts = dialog.locator("[data-testid=sms-message] .sms-text").all_inner_texts()
    assert texts == [f"Pesan nomor {i:02d}" for i in range(70)]  # oldest first, nothing twice
    dialog.locator("[data-testid=sms-message]").first.scroll_into_view_if_needed()
    screenshot(page, "sms-08-dialog-earlier-messages")
