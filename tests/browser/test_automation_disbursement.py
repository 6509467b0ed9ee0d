"""In Debian's Chromium: the petugas records Pencairan Tahap I on a grant; the notice SMS (queued in the same
transaction) goes out through the simulator and shows in the institution's Pesan dialog with the green check."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from abah.grants import services as grant_services
from abah.grants.models import Grant
from abah.sms.models import Message
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATOR = {"default": {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
                         "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]}}}


def test_record_tahap_1_and_see_the_notice_delivered_in_pesan(page, settings):
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    petugas = make_user("petugas", role="petugas", first_name="Budi")
    institution = grant_services.institution_create(name="Pondok Pesantren Darul Ulum Sukorejo",
                                                    regency="Kabupaten Jombang", bank_name="Bank Jatim",
                                                    account_number="0011223344556")
    grant_services.contact_set(institution=institution, person="KH. Ahmad Fauzi", phone="081230900095")
    grant = grant_services.grant_create(institution=institution, fiscal_year=2018, petugas=petugas,
                                        amount_requested=Decimal("400000000"))
    Grant.objects.filter(pk=grant.pk).update(status=Grant.Status.NPHD_DITANDATANGANI, stage_count=2,
                                             amount_approved=Decimal("400000000"),
                                             lpj_due_date=datetime.date(2019, 1, 10))

    browser_login(page, "petugas")
    page.goto(page.base_url + f"/hibah/{grant.pk}/")
    page.click("[data-testid=card-disbursement1]")
    page.wait_for_selector("#abah-modal.show input[name=sp2d_number]")
    page.fill("#abah-modal input[name=amount]", "280000000")
    page.fill("#abah-modal input[name=paid_on]", "30/11/2018")
    page.fill("#abah-modal input[name=sp2d_number]", "00123/SP2D/LS/2018")
    page.click("#abah-modal [data-testid=dialog-submit]")
    page.wait_for_selector("#abah-modal", state="hidden")
    message = Message.objects.get(kind="disbursement")
    assert message.status == "queued"
    assert message.text == (
        "Yth. Pimpinan Pondok Pesantren Darul Ulum Sukorejo, dana hibah Tahap I TA 2018 Rp280.000.000,00 telah "
        "ditransfer ke rek. Bank Jatim ***4556 a.n. lembaga pd 30 November 2018. Gunakan sesuai NPHD. Tidak "
        "dipungut biaya apapun. Biro Kesra Jatim")

    call_command("smsd", once=True)  # the worker sends it; the simulator reports it delivered
    call_command("smsd", once=True)
    page.goto(page.base_url + f"/hibah/{grant.pk}/")
    page.click("[data-testid=card-pesan]")
    page.wait_for_selector("#abah-modal.show [data-testid=sms-dialog]")
    notice = page.locator("#abah-modal [data-testid=sms-message]", has_text="dana hibah Tahap I TA 2018")
    notice.locator("[data-testid=mark-delivered]").wait_for()
    page.wait_for_function("() => getComputedStyle(document.getElementById('abah-modal')).opacity === '1'")
    screenshot(page, "automation-20-disbursement-notice-delivered")
