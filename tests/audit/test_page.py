"""The Admin's Log Audit page: filters, newest first, pages, the .xlsx export (itself audited); Petugas get 403."""

import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from abah import audit
from abah.audit.models import AuditEntry
from abah.core.formatting import WIB
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
URL = reverse("audit:entry_list")
A = AuditEntry.Action


def at(day, hour=10):
    return datetime.datetime(2026, 11, day, hour, 0, tzinfo=WIB)


@pytest.fixture
def entries(petugas, petugas2):
    audit.record(petugas, "export", target="grants.grant", count=1161, detail="q= scope=aktif", at=at(20))
    audit.record(petugas2, "search", target="grants.grant", detail="q=lptq scope=aktif", at=at(25))
    audit.record(petugas, "view_contact", target=("grants.institution", 42), at=at(28))
    audit.record(petugas2, "export", target="grants.grant", count=3, detail='=HYPERLINK("http://evil")', at=at(30))


def rows(response):
    return response.content.decode().count('data-testid="audit-row"')


def test_petugas_gets_403(petugas_client, entries):
    assert petugas_client.get(URL).status_code == 403
    assert petugas_client.get(URL, {"export": "xlsx"}).status_code == 403
    assert not AuditEntry.objects.filter(action=A.EXPORT, target_type="audit.auditentry").exists()


def test_menu_entry_for_admins_only(admin_client, petugas):
    assert 'href="/log-audit/"' in admin_client.get(reverse("core:dashboard")).content.decode()
    other = Client()
    other.force_login(petugas)
    assert 'href="/log-audit/"' not in other.get(reverse("core:dashboard")).content.decode()


def test_newest_first_and_filters(admin_client, admin_user, entries):
    html = admin_client.get(URL).content.decode()
    assert "Log Audit" in html and "30 November 2026 10:00:00 WIB" in html
    assert html.index("30 November 2026") < html.index("28 November 2026") < html.index("20 November 2026")
    # The four entries and the Admin's own login; opening the page is not itself an export or a search.
    assert rows(admin_client.get(URL)) == 5
    assert rows(admin_client.get(URL, {"user": "petugasa"})) == 2
    assert rows(admin_client.get(URL, {"user": "PETUGASB", "action": "export"})) == 1
    assert rows(admin_client.get(URL, {"action": "view_contact"})) == 1
    assert rows(admin_client.get(URL, {"start": "2026-11-25", "end": "2026-11-28"})) == 2
    assert rows(admin_client.get(URL, {"q": "lptq"})) == 1
    assert rows(admin_client.get(URL, {"q": "grants.institution"})) == 1
    response = admin_client.get(URL, {"start": "0001-01-01"})  # a date out of range: a message, no 500
    assert response.status_code == 200 and rows(response) == 0
    feedback = response.content.decode().split('class="invalid-feedback">', 1)[1].split("<", 1)[0]
    assert "2000" in feedback and "2100" in feedback
    response = admin_client.get(URL, {"start": "2026-11-29", "end": "2026-11-01"})
    assert "Tanggal akhir sebelum tanggal awal." in response.content.decode()


def test_pages(admin_client, petugas):
    for i in range(55):
        audit.record(petugas, "search", detail=f"q=nomor{i:02d}")
    first = admin_client.get(URL).content.decode()
    assert first.count('data-testid="audit-row"') == 50 and "q=nomor54" in first and "q=nomor04" not in first
    second = admin_client.get(URL, {"page": "2"}).content.decode()
    assert second.count('data-testid="audit-row"') == 6 and "q=nomor04" in second and "q=nomor00" in second


def test_export_of_the_filtered_entries_is_text_and_audited(admin_client, admin_user, entries):
    response = admin_client.get(URL, {"user": "petugasb", "export": "xlsx"}, REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith('attachment; filename="log-audit-')
    sheet = load_workbook(io.BytesIO(response.content)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == ("Waktu (WIB)", "Pengguna", "Alamat", "Aksi", "Jenis objek", "Id objek", "Rincian", "Jumlah")
    assert [row[1] for row in table[1:]] == ["petugasb", "petugasb"]
    assert table[1][0] == datetime.datetime(2026, 11, 30, 10, 0) and table[1][3] == "Ekspor" and table[1][7] == 3
    cell = sheet.cell(row=2, column=7)
    assert cell.value == '=HYPERLINK("http://evil")' and cell.data_type == "s"  # text, never a formula
    entry = AuditEntry.objects.get(action=A.EXPORT, target_type="audit.auditentry")
    assert (entry.user, entry.address, entry.count) == (admin_user, "192.0.2.44", 2)
    assert "user=petugasb" in entry.detail


def test_the_page_survives_hostile_parameters(admin_client, entries):
    for params in ({"page": "²"}, {"page": "10000000000000000000000"}, {"start": "2026-13-45"}, {"action": "x"},
                   {"user": "\x00admin"}, {"q": "a" * 5000}, {"end": "9999-12-31"}):
        assert admin_client.get(URL, params).status_code == 200, params


def test_removed_user_stays_named(admin_client):
    gone = make_user("pergi", role="petugas")
    audit.record(gone, "search", detail="q=x")
    gone.delete()
    entry = AuditEntry.objects.get(action=A.SEARCH)
    assert entry.user is None and entry.username == "pergi"
    assert "pergi" in admin_client.get(URL).content.decode()
