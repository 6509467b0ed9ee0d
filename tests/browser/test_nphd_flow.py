"""In Debian's Chromium, the whole Undangan NPHD flow: a petugas invites two institutions for the same date from
their grant cards, sees one appointment with Jumlah 2, opens it, Proses → Ya, and watches both texts get their
green check from the simulator; cancel / resend are absent for the petugas and refused by the server; an Admin
resends and cancels; an appointment dated yesterday cannot be processed."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from abah.automation.services import ensure_templates
from abah.nphd import services
from abah.nphd.models import Appointment, Invitation
from abah.sms.models import Message
from tests.conftest import browser_login, make_user, screenshot
from tests.nphd.conftest import make_grant, make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}


def worker():
    call_command("smsd", once=True)


def invite_from_card(page, grant, date):
    page.goto(page.base_url + grant.get_absolute_url())
    page.click("[data-testid=card-undangan_nphd]")
    page.wait_for_selector("#abah-modal.show [data-testid=invite-form]")


def logout(page):
    page.context.clear_cookies()


def test_nphd_invitation_flow(page, settings):
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    settings.ABAH_SMS_INFO_PHONE = "(031) 3524001"
    ensure_templates()
    petugas = make_user("azhariyah", role="petugas", first_name="Azhariyah", last_name="",
                        phone="+6281230900031", phone_verified_at=timezone.now())
    make_user("sitiadmin", role="admin", first_name="Siti", last_name="Rahmawati",
                      phone="+6281230900032", phone_verified_at=timezone.now())
    first = make_grant(make_institution("Yayasan Pendidikan Islam Nurul Huda Sukorejo", phone="081230900095",
                                        person="Nur Hidayat"), petugas=petugas)
    second = make_grant(make_institution("Masjid Jami' Al-Ikhlas Wonorejo", phone="085730900096",
                                         person="Siti Aminah"), petugas=petugas)
    date = timezone.localdate() + datetime.timedelta(days=5)

    browser_login(page, "azhariyah")
    # 1. From the grant page's card: "Undangan NPHD: <lembaga>" with Negara, Nomor Telepon, Kontak Person,
    #    Tanggal NPHD, Ya / Tidak. Several numbers are refused with a clear message.
    invite_from_card(page, first, date)
    modal = page.locator("#abah-modal")
    assert modal.locator("[data-testid=dialog-title]").inner_text() == (
        "Undangan NPHD: Yayasan Pendidikan Islam Nurul Huda Sukorejo")
    for label in ("Negara", "Nomor Telepon", "Kontak Person", "Tanggal NPHD"):
        assert modal.get_by_text(label, exact=False).count() >= 1, label
    assert modal.locator("input[name=person]").input_value() == "Nur Hidayat"  # prefilled from the contact
    modal.locator("input[name=phone]").fill("0812-3090-0095 / 0813-3090-0096")
    modal.locator("input[name=date]").fill(date.strftime("%d/%m/%Y"))
    modal.locator("[data-testid=dialog-yes]").click()
    modal.get_by_text("Masukkan tepat satu nomor telepon genggam.").wait_for()
    screenshot(page, "nphd-01-invite-several-numbers")
    assert not Invitation.objects.exists()
    modal.locator("input[name=phone]").fill("0812-3090-0095")
    screenshot(page, "nphd-02-invite-dialog")
    modal.locator("[data-testid=dialog-yes]").click()
    page.wait_for_selector(".alert-success")
    assert Invitation.objects.count() == 1

    invite_from_card(page, second, date)
    modal.locator("input[name=date]").fill(date.strftime("%d/%m/%Y"))
    modal.locator("[data-testid=dialog-yes]").click()
    page.wait_for_selector(".alert-success")

    # 2. Hibah > Undangan NPHD: one appointment, Jumlah 2.
    page.locator("nav .dropdown-toggle", has_text="Hibah").first.click()
    page.locator("nav .dropdown-menu.show a", has_text="Undangan NPHD").click()
    page.wait_for_selector("[data-testid=appointment-table]")
    assert page.locator("[data-testid=result-count]").inner_text() == "1 hasil"
    rows = page.locator("[data-testid=appointment-row]")
    assert rows.count() == 1
    assert rows.first.locator("[data-testid=jumlah]").inner_text() == "2"
    assert "Azhariyah" in rows.first.inner_text()
    header = page.locator("[data-testid=appointment-table] thead").inner_text()
    for label in ("Id", "Tanggal", "Petugas", "Jumlah", "Aksi"):
        assert label in header
    assert page.locator("[data-testid=bulk-action] option").all_inner_texts() == ["Pilih aksi", "Proses yang dipilih"]
    screenshot(page, "nphd-03-list")

    # 3. The appointment page: Sunting Undangan NPHD; no cancel / resend for a petugas.
    rows.first.locator("[data-testid=open-appointment]").click()
    page.wait_for_selector("[data-testid=page-title]")
    assert page.locator("[data-testid=page-title]").inner_text() == "Sunting Undangan NPHD"
    assert page.locator("[data-testid=appointment-jumlah]").inner_text() == "2"
    assert page.locator("[data-testid=notification-status]").inner_text().strip() == "Belum dikirim"
    assert page.get_by_text("Status ini menandakan apakah notifikasi pesan teks sudah dikirim kepada lembaga atau belum").count() == 1
    assert page.locator("[data-testid=invitee]").count() == 2
    assert page.locator("[data-testid=back]").inner_text() == "← Kembali"
    for testid in ("appointment-cancel", "appointment-resend", "invitee-cancel", "invitee-resend"):
        assert page.locator(f"[data-testid={testid}]").count() == 0
    screenshot(page, "nphd-04-appointment")
    appointment = Appointment.objects.get()

    # 4. Proses → Ya: both texts queued (no mark yet), Notifikasi sent.
    page.click("[data-testid=process]")
    page.wait_for_selector("#abah-modal.show [data-testid=process-form]")
    assert "Kirim undangan NPHD melalui SMS kepada 2 lembaga?" in modal.inner_text()
    assert "Yth. Bpk/Ibu Pimpinan" in modal.locator("[data-testid=process-preview]").inner_text()
    screenshot(page, "nphd-05-process-confirm")
    modal.locator("[data-testid=dialog-yes]").click()
    page.wait_for_selector("[data-testid=notification-status][data-sent='queued']")  # "Antre": not sent yet
    assert page.locator("[data-testid=mark-queued]").count() == 2
    assert page.locator("[data-testid=process]").is_disabled()
    screenshot(page, "nphd-06-processed-pending")
    assert Message.objects.filter(kind="invitation").count() == 2

    # 5. The worker hands them to the simulator; the page polls until both show the green check.
    worker()
    page.locator("[data-testid=mark-delivered]").nth(1).wait_for()
    assert page.locator("[data-testid=mark-delivered]").count() == 2
    assert page.locator("#nphd-invitees[data-live]").count() == 1  # still live: a resend or late report (issue 14)
    screenshot(page, "nphd-07-delivered")

    # 6. Processing twice sends nothing twice: the server refuses the second POST.
    response = page.request.post(page.base_url + f"/hibah/undangan-nphd/{appointment.pk}/proses/",
                                 headers={"X-CSRFToken": _csrf(page)})
    assert response.status in (200, 302)
    assert Message.objects.filter(kind="invitation").count() == 2

    # 7. A petugas cannot cancel or resend: the server answers 403.
    invitation = Invitation.objects.order_by("id").first()
    for path in (f"{appointment.pk}/batal/", f"{appointment.pk}/kirim-ulang/", f"lembaga/{invitation.pk}/batal/",
                 f"lembaga/{invitation.pk}/kirim-ulang/"):
        assert page.request.post(page.base_url + "/hibah/undangan-nphd/" + path,
                                 headers={"X-CSRFToken": _csrf(page)}).status == 403, path
    page.goto(page.base_url + f"/hibah/undangan-nphd/{appointment.pk}/batal/")
    screenshot(page, "nphd-09-petugas-403")

    # 8. An Admin can resend (a new message, the old one kept) and cancel (texting the cancellation).
    logout(page)
    browser_login(page, "sitiadmin")
    # The text as the institution's (virtual) phone received it (the simulator's page is the Admin's).
    page.goto(page.base_url + "/sms/telepon-virtual/?number=%2B6281230900095")
    page.locator("[data-testid=phone-message]", has_text="penandatanganan NPHD").wait_for()
    screenshot(page, "nphd-08-virtual-phone")
    page.goto(page.base_url + f"/hibah/undangan-nphd/{appointment.pk}/")
    page.wait_for_selector("[data-testid=appointment-cancel]")
    assert page.locator("[data-testid=invitee-resend]").count() == 2
    screenshot(page, "nphd-10-admin-appointment")
    page.locator("[data-testid=invitee-resend]").first.click()
    page.wait_for_selector("#abah-modal.show [data-testid=dialog-yes]")
    screenshot(page, "nphd-11-admin-resend-confirm")
    modal.locator("[data-testid=dialog-yes]").click()
    page.wait_for_selector(".alert-success")
    assert Message.objects.filter(idempotency_key=f"nphd:{invitation.pk}:2").exists()
    worker()
    page.locator("[data-testid=invitee-cancel]").nth(1).click()
    page.wait_for_selector("#abah-modal.show [data-testid=send-cancel-text]")
    modal.locator("[data-testid=send-cancel-text]").check()
    screenshot(page, "nphd-12-admin-cancel-confirm")
    modal.locator("[data-testid=dialog-yes]").click()
    page.wait_for_selector("[data-testid=cancelled-invitee]", state="attached")
    assert page.locator("[data-testid=appointment-jumlah]").inner_text() == "1"
    cancelled = Invitation.objects.get(status="cancelled")
    assert Message.objects.filter(idempotency_key=f"nphd:{cancelled.pk}:cancel").exists()
    screenshot(page, "nphd-13-admin-after-cancel")
    assert petugas.notifications.filter(kind__in=["invitation_resent", "invitation_cancelled"]).count() == 2

    # 9. An appointment dated yesterday cannot be processed: button disabled with the reason.
    third = make_grant(make_institution("Pura Agung Jagatnatha", phone="081230900097", person="Made Sudarma"),
                       petugas=petugas)
    late = services.invitation_create(grant=third, date=timezone.localdate(), phone="081230900097",
                                      person="Made Sudarma", by=petugas).appointment
    Appointment.objects.filter(pk=late.pk).update(date=timezone.localdate() - datetime.timedelta(days=1))
    page.goto(page.base_url + f"/hibah/undangan-nphd/{late.pk}/")
    assert page.locator("[data-testid=process]").is_disabled()
    assert "sudah lewat" in page.locator("[data-testid=process-reason]").inner_text()
    screenshot(page, "nphd-14-yesterday")
    page.request.post(page.base_url + f"/hibah/undangan-nphd/{late.pk}/proses/", headers={"X-CSRFToken": _csrf(page)})
    assert not Message.objects.filter(meta__appointment=late.pk).exists()


def _csrf(page):
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
