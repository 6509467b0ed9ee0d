"""In Debian's Chromium: a text with no delivery report after the expiry shows its own grey mark, with the reason as
its tooltip, in the Pesan dialog (opened from the notification's link to the thread) on a phone and a desktop."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from abah.sms import expiry, services
from abah.sms.models import Message, MessagePart
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Tidak ada laporan pengiriman dari gateway dalam 48 jam: gateway tidak memberi tahu apakah pesan sampai"


def test_no_report_mark_in_the_pesan_dialog_on_phone_and_desktop(page, locmem_gateway):
    clerk = make_user("petugasnr", role="petugas")
    thread = services.conversation_for(party_type="test.party", party_id="77", title="Yayasan Nurul Huda",
                                       number="081230900095")
    sent_at = timezone.now() - timedelta(hours=50)
    delivered = services.queue_message(to="081230900095", text="Undangan rapat koordinasi tanggal 5 Desember",
                                       kind="manual", conversation=thread, sender=clerk)
    unreported = services.queue_message(to="081230900095", text="Mohon konfirmasi kehadiran Bapak/Ibu",
                                        kind="manual", conversation=thread, sender=clerk)
    Message.objects.filter(pk=delivered.pk).update(status=Message.Status.DELIVERED, sent_at=sent_at,
                                                   created_at=sent_at, delivered_at=sent_at)
    Message.objects.filter(pk=unreported.pk).update(status=Message.Status.SENT, sent_at=sent_at, created_at=sent_at)
    MessagePart.objects.create(message=unreported, seq=1, gateway="default", gateway_message_id="NR-1")
    assert expiry.expire_unreported() == 1

    browser_login(page, clerk.username)
    page.wait_for_load_state("networkidle")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(page.base_url + reverse("sms:message_list") + f"?thread={thread.pk}")
        page.wait_for_selector("#abah-modal.show [data-testid=sms-dialog]")  # the link opens the thread's dialog
        page.wait_for_function("() => getComputedStyle(document.getElementById('abah-modal')).opacity === '1'")
        mark = page.locator("#abah-modal [data-testid=mark-no-report]")
        assert mark.count() == 1 and mark.is_visible()
        assert mark.get_attribute("title") == REASON
        assert "text-secondary" in mark.get_attribute("class")
        assert page.locator("#abah-modal [data-testid=mark-delivered]").count() == 1
        screenshot(page, f"sms-no-report-dialog-{width}")
        page.locator("#abah-modal .btn-close").click()
        page.wait_for_selector("#abah-modal", state="hidden")
        row_mark = page.locator("[data-testid=sms-row] [data-testid=mark-no-report]")
        assert row_mark.count() == 1 and row_mark.get_attribute("title") == REASON
