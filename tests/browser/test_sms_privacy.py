"""In Debian's Chromium, at 1366 and 390 px: UCP > Pesan as the addressee of a notification copy and a spent
code (copy in clear, code masked), as another petugas (neither shown), and the Admin's status page (a failed
copy of someone else's: number masked, "(pesan pribadi)"). Screenshots of every page."""

import re

import pytest

from abah.sms import phone, services
from abah.sms.models import Message
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _gateway(locmem_gateway):
    """Nothing is sent here; the messages only sit in the outbox."""


def _setup():
    from abah.notifications.models import Notification
    from abah.notifications.services import notify
    from abah.verification.services import verification_confirm, verification_request

    make_user("admin", role="admin", first_name="Siti")
    rina = make_user("rina", role="petugas", first_name="Rina", notify_sms=True)
    make_user("budi", role="petugas", first_name="Budi")
    thread = services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh",
                                       number="081230900095")
    services.send_manual(conversation=thread, text="Undangan rapat koordinasi hibah", sender=None)
    notify(user=rina, kind=Notification.Kind.NOTE_ADDED, text="Catatan pribadi untuk Rina")
    code = verification_request(user=rina, number="081230900077")
    digits = re.search(r"\d{6}", Message.objects.get(pk=code.sms_message_id).text).group()
    verification_confirm(user=rina, code=digits)
    copy = Message.objects.get(kind=Message.Kind.NOTIFICATION)
    Message.objects.filter(pk=copy.pk).update(status=Message.Status.FAILED, error_reason="Undeliverable")
    return rina, digits, copy


@pytest.mark.parametrize("width", [1366, 390])
def test_pesan_and_status_page_keep_personal_messages_private(page, width):
    rina, digits, copy = _setup()
    page.set_viewport_size({"width": width, "height": 900})
    base = page.base_url

    browser_login(page, "rina")
    page.wait_for_url(lambda url: "/masuk/" not in url)
    page.goto(base + "/sms/pesan/")
    body = page.inner_text("#sms-rows")
    assert "Catatan pribadi untuk Rina" in body and "Undangan rapat koordinasi hibah" in body
    assert "\u2022" * 6 in body and digits not in body
    screenshot(page, f"sms-privacy-01-addressee-{width}")

    page.context.clear_cookies()
    browser_login(page, "budi")
    page.wait_for_url(lambda url: "/masuk/" not in url)
    page.goto(base + "/sms/pesan/")
    body = page.inner_text("#sms-rows")
    assert "Undangan rapat koordinasi hibah" in body
    assert "Catatan pribadi" not in body and "verifikasi" not in body
    screenshot(page, f"sms-privacy-02-other-petugas-{width}")

    page.context.clear_cookies()
    browser_login(page, "admin")
    page.wait_for_url(lambda url: "/masuk/" not in url)
    page.goto(base + "/sms/status/")
    private = page.locator("[data-testid=private-message]")
    assert private.count() == 1 and private.inner_text() == "(pesan pribadi)"
    body = page.inner_text("body")
    assert phone.mask(copy.number) in body and phone.national(copy.number) not in body
    screenshot(page, f"sms-privacy-03-admin-status-{width}")
