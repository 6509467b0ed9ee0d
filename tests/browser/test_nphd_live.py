"""In Debian's Chromium, at 1366 and 390 px: the appointment page (Sunting Undangan NPHD) open in a petugas's
browser while an Admin processes it elsewhere: the invitees' marks go from "not texted yet" to queued to the
green check (the simulator's delivery report through one worker pass), and to "!" for a dead number, without a
reload, within the poll interval."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from abah.nphd import services
from abah.nphd.views import POLL_SECONDS
from tests.conftest import browser_login, make_user, screenshot
from tests.nphd.conftest import make_grant, make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}
WITHIN = (POLL_SECONDS + 4) * 1000
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.mark.parametrize("size", SIZES)
def test_appointment_page_marks_follow_the_texts_without_reload(page, settings, size):
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    settings.ABAH_SMS_INFO_PHONE = "(031) 3524001"
    rina = make_user("rina", role="petugas", first_name="Rina")
    admin = make_user("admin", role="admin", first_name="Siti")
    date = timezone.localdate() + datetime.timedelta(days=7)
    alive = make_grant(make_institution("Yayasan Nurul Huda", phone="081230900095", person="Ahmad Fauzi"),
                       petugas=rina)
    dead = make_grant(make_institution("Masjid Al-Ikhlas", phone="081230900000", person="Siti Aminah"), petugas=rina)
    for grant in (alive, dead):
        contact = grant.institution.current_contact
        invitation = services.invitation_create(grant=grant, date=date, phone=contact.phone, person=contact.person,
                                                region="ID", by=rina)
    appointment = invitation.appointment

    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    browser_login(page, "rina")
    page.goto(page.base_url + f"/hibah/undangan-nphd/{appointment.pk}/")
    invitees = page.locator("[data-testid=invitee]")
    expect(invitees).to_have_count(2)
    expect(page.locator("[data-testid=invitee-unsent]")).to_have_count(2)

    services.appointment_process(appointment=appointment, by=admin)  # an Admin, elsewhere
    expect(page.locator("[data-testid=mark-queued]")).to_have_count(2, timeout=WITHIN)
    call_command("smsd", once=True)  # sent; the simulator reports one delivered, the dead number failed
    ok = invitees.filter(has_text="Yayasan Nurul Huda")
    expect(ok.locator("[data-testid=mark-delivered]")).to_be_visible(timeout=WITHIN)
    expect(invitees.filter(has_text="Masjid Al-Ikhlas").locator("[data-testid=mark-failed]")).to_be_visible(
        timeout=WITHIN)
    # The notification badge and the Proses button follow (out of band, with the same poll).
    expect(page.locator("[data-testid=notification-status]")).to_have_attribute("data-sent", "1")
    expect(page.locator("[data-testid=process]")).to_be_disabled()
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0]
    screenshot(page, f"nphd-live-appointment-{size}")
    page.context.add_cookies([{"name": "abah_language", "value": "en", "url": page.base_url}])
    page.reload()
    expect(page.locator("[data-testid=page-title]")).to_have_text("Edit NPHD invitation")
    screenshot(page, f"nphd-live-appointment-{size}-en")
