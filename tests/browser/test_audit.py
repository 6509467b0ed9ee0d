"""In Debian's Chromium: the Admin opens Log Audit from the Admin menu, filters, downloads the .xlsx (itself
audited); screenshots at 1366 px and 390 px."""

import datetime

import pytest
from openpyxl import load_workbook

from abah import audit
from abah.audit.models import AuditEntry
from abah.core.formatting import WIB
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_filters_and_downloads_the_audit_log(page, tmp_path):
    make_user("admin", role="admin", first_name="Siti")
    budi = make_user("budi", role="petugas", first_name="Budi")
    at = datetime.datetime(2026, 11, 30, 9, 15, tzinfo=WIB)
    audit.record(budi, "export", target="grants.grant", count=1161, detail="q= scope=aktif", at=at)
    audit.record(budi, "view_contact", target=("grants.institution", 7), at=at)
    audit.record(budi, "search", target="sms.message", detail="q=kode verifikasi kind=code", at=at)

    browser_login(page, "admin")
    page.wait_for_selector("text=Selamat datang, Siti")
    page.locator("nav .dropdown-toggle", has_text="Admin").click()
    page.locator("nav .dropdown-menu.show a", has_text="Log Audit").click()
    page.wait_for_selector("[data-testid=audit-filters]")
    assert page.locator("h1").inner_text().strip() == "Log Audit"
    assert page.locator("[data-testid=audit-row]").count() == 4  # budi's three and the Admin's login
    screenshot(page, "audit-01-list-1366")

    page.fill("#id_user", "budi")
    page.select_option("#id_action", "export")
    page.click("[data-testid=audit-filter]")
    page.wait_for_url("**/log-audit/?*action=export*")
    rows = page.locator("[data-testid=audit-row]")
    assert rows.count() == 1
    assert "Ekspor" in rows.inner_text() and "1161" in rows.inner_text() and "30 November 2026 09:15:00 WIB" in (
        rows.inner_text())
    screenshot(page, "audit-02-filtered-1366")

    with page.expect_download() as info:
        page.click("[data-testid=audit-export]")
    download = info.value
    assert download.suggested_filename.startswith("log-audit-") and download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    table = list(load_workbook(path).active.iter_rows(values_only=True))
    assert len(table) == 2 and table[1][1] == "budi" and table[1][3] == "Ekspor" and table[1][7] == 1161
    entry = AuditEntry.objects.get(action="export", target_type="audit.auditentry")
    assert entry.username == "admin" and entry.count == 1 and entry.address == "127.0.0.1"

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("[data-testid=audit-row]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "audit-03-filtered-390")
    page.goto(page.base_url + "/log-audit/")
    page.wait_for_selector("[data-testid=audit-row]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "audit-04-list-390")
