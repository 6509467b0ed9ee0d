"""In Debian's Chromium at 1366 and 390 px: the dashboard's "Pesan gagal" leads to the list of failed texts; a bad
number is refused in words and changes nothing; the right one is saved and the text resent, and the row shows
"dikirim ulang". The page never gets wider than the screen. English too."""

import pytest
from django.urls import reverse
from django.utils import timezone

from abah.grants import messaging
from abah.grants.models import Contact
from abah.sms.models import Message
from tests.conftest import browser_login, make_user, screenshot
from tests.grants.conftest import make_grant, make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def failed_invitation(name, number, petugas):
    institution = make_institution(name, phone=number, person="Bpk. Ahmad Fauzi")
    make_grant(institution, petugas=petugas)
    message = messaging.queue_to_institution(
        institution=institution, text="Undangan penandatanganan NPHD hari Senin, 7 Desember 2026 pukul 09.00 WIB.",
        kind=Message.Kind.INVITATION, idempotency_key=f"browser-failed:{institution.pk}")
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED, failed_at=timezone.now(),
                                                 attempts=1, gateway="default", error_code="absent_subscriber",
                                                 error_reason="Absent subscriber")
    return institution, message


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_failed_list_fix_and_resend_on_desktop_and_phone(page, locmem_gateway):
    clerk = make_user("petugasgagal", role="petugas")
    rows = {1366: failed_invitation("Yayasan Pendidikan Islam Nurul Huda Krajan", "081230900101", clerk),
            390: failed_invitation("Masjid Al-Ikhlas Sidoarjo", "081230900102", clerk)}
    browser_login(page, clerk.username)
    page.wait_for_load_state("networkidle")
    for width, height in ((1366, 768), (390, 844)):
        institution, message = rows[width]
        page.set_viewport_size({"width": width, "height": height})
        page.goto(page.base_url + reverse("core:dashboard"))
        card = page.locator("[data-testid=dashboard-failed]")
        assert card.is_visible() and fits(page)
        screenshot(page, f"failed-dashboard-{width}")
        card.locator("a").click()
        page.wait_for_url("**" + reverse("notifications:failed_list"))
        row = page.locator(f"[data-testid=failed-row][data-message='{message.pk}']")
        assert "Nomor tidak aktif" in row.locator("[data-testid=failed-reason]").inner_text()
        assert fits(page)
        screenshot(page, f"failed-list-{width}")
        row.locator("summary").click()
        field = row.locator("input[name$='-phone']")
        assert field.input_value() == f"0812-3090-0{102 if width == 390 else 101}"
        field.fill("0812 ABC 77")
        row.locator("[data-testid=failed-resend]").click()
        row = page.locator(f"[data-testid=failed-row][data-message='{message.pk}']")
        error = row.locator("[data-testid=failed-error]")
        assert error.is_visible() and error.inner_text() == "Nomor telepon tidak boleh berisi huruf."
        assert fits(page)
        screenshot(page, f"failed-list-error-{width}")
        assert Contact.objects.get(institution=institution, is_current=True).phone == message.number
        row.locator("input[name$='-phone']").fill("0857-1234-5678")
        row.locator("[data-testid=failed-resend]").click()
        page.wait_for_selector(".alert-success")
        row = page.locator(f"[data-testid=failed-row][data-message='{message.pk}']")
        assert row.locator("[data-testid=failed-resent]").inner_text().strip() == "dikirim ulang"
        assert row.locator("summary").count() == 0 and fits(page)
        assert Contact.objects.get(institution=institution, is_current=True).phone == "+6285712345678"
        assert Message.objects.filter(conversation=message.conversation, status=Message.Status.QUEUED,
                                      number="+6285712345678").count() == 1
        screenshot(page, f"failed-list-resent-{width}")

    # In English, the same page in English words.
    page.context.add_cookies([{"name": "abah_language", "value": "en", "url": page.base_url}])
    for width, height in ((1366, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(page.base_url + reverse("notifications:failed_list"))
        assert page.locator("h1").inner_text().strip() == "Failed texts"
        assert page.locator("[data-testid=failed-resent]").first.inner_text().strip() == "resent"
        assert fits(page)
        screenshot(page, f"failed-list-en-{width}")
