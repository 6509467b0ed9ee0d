"""In Debian's Chromium, on demo data: an Admin broadcasts to about 1,000 demo institutions — filters, preview
(recipients, institutions without a contact, samples, segments), confirm; the progress bar follows the worker;
cancelled halfway, the rest is withdrawn and never sent. Every message sits in its institution's Pesan thread."""

import pytest
from django.core.management import call_command

from abah.accounts.demo import DEMO_PASSWORD
from abah.automation.models import Broadcast
from abah.grants.messaging import PARTY_TYPE
from abah.sms.backends import locmem
from abah.sms.daemon import Daemon
from abah.sms.models import Message
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_broadcast_to_demo_institutions_progress_and_cancel_halfway(page, locmem_gateway):
    call_command("seed_demo", size=3100, stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    Message.objects.all().delete()  # the demo's own conversations are not part of this story
    locmem.reset()

    browser_login(page, "admin", DEMO_PASSWORD)
    page.click("nav .dropdown-toggle:has-text('SMS Center')")
    page.click("nav >> text=Siaran")
    page.click("[data-testid=broadcast-new]")
    page.wait_for_selector("[data-testid=broadcast-text]")
    assert "{isi}" in page.input_value("[data-testid=broadcast-text]")
    page.fill("[data-testid=broadcast-isi]", "rapat koordinasi penerima hibah pd 5 Desember 2018 pukul 09.00 WIB "
                                              "di Gedung Negara Grahadi")
    page.click("[data-testid=broadcast-preview-button]")
    page.wait_for_selector("[data-testid=preview-sample]")
    total = int(page.inner_text("[data-testid=preview-total]"))
    sendable = int(page.inner_text("[data-testid=preview-sendable]"))
    unreachable = int(page.inner_text("[data-testid=preview-unreachable]"))
    assert total >= 1000 and sendable >= 500 and unreachable > 0 and sendable + unreachable == total
    assert int(page.inner_text("[data-testid=preview-segments]")) >= sendable
    assert "Gedung Negara Grahadi" in page.inner_text("[data-testid=preview-sample] >> nth=0")
    page.click("[data-testid=preview-unreachable-list] summary")
    screenshot(page, "automation-10-broadcast-preview")

    page.click("[data-testid=broadcast-confirm]")
    # Confirmed: the task waits for the background worker (django-tasks-db), the page polls meanwhile.
    page.wait_for_selector("[data-testid=broadcast-progress][data-status=pending]")
    assert not Message.objects.filter(kind="broadcast").exists()
    screenshot(page, "automation-11-broadcast-pending")
    call_command("db_worker", batch=True, interval=0, no_startup_delay=True)  # what `make run`'s worker does
    page.wait_for_selector("[data-testid=broadcast-progress][data-status=queued]")
    broadcast = Broadcast.objects.get()
    assert broadcast.queued == sendable
    assert int(page.inner_text("[data-testid=progress-waiting]")) == sendable
    screenshot(page, "automation-12-broadcast-queued")

    # The worker sends half (one batch), the progress bar follows by itself.
    half = sendable // 2
    daemon = Daemon(batch_size=half)
    daemon.send(daemon.claim())
    page.wait_for_selector(f"[data-testid=progress-sent]:text-is('{half}')")
    screenshot(page, "automation-13-broadcast-half-sent")

    page.click("[data-testid=broadcast-cancel]")
    page.wait_for_selector("[data-testid=broadcast-progress][data-status=cancelled]")
    assert int(page.inner_text("[data-testid=progress-withdrawn]")) == sendable - half
    assert int(page.inner_text("[data-testid=progress-waiting]")) == 0
    assert page.locator("[data-testid=broadcast-cancel]").count() == 0
    screenshot(page, "automation-14-broadcast-cancelled")

    call_command("smsd", once=True)
    assert len(locmem.outbox) == half  # nothing withdrawn went out
    messages = Message.objects.filter(kind="broadcast")
    assert messages.filter(status="cancelled").count() == sendable - half
    assert not messages.filter(conversation__isnull=True).exists()
    assert not messages.exclude(conversation__party_type=PARTY_TYPE).exists()
