"""Round trip (issue 14, item 10a): what Ekspor writes, Impor reads back unchanged. The list is exported (in
Indonesian and in English), the grants and institutions are removed, the file is uploaded to Impor through its
pages, and the list exported again is the same, cell for cell. Files of the older export (its column names,
labels and officer names) import too."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from abah.grants.models import Grant, Institution

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db
SEARCH = reverse("grants:search")
S = Grant.Status


def exported(client, language="id", **params):
    client.cookies["django_language"] = language
    response = client.get(SEARCH, {"export": "xlsx", **params}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content


def table(content):
    return [list(row) for row in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]


def import_file(client, content, name="hibah.xlsx"):
    client.cookies["django_language"] = "id"
    form = client.get(reverse("grants:import_upload")).content.decode()
    assert "Daftar yang disimpan dengan “Ekspor ke Excel” di halaman data hibah dapat diimpor apa adanya" in form
    page = client.post(reverse("grants:import_upload"), {"file": SimpleUploadedFile(name, content)})
    assert 'data-testid="import-ok"' in page.content.decode(), page.content.decode()[:3000]
    done = client.post(reverse("grants:import_confirm"), {"token": client.session["grants_import"]})
    assert done.status_code == 302


def remove_everything():
    Grant.objects.all().delete()
    Institution.objects.all().delete()


@pytest.fixture
def grants(petugas, petugas2):
    huda = make_institution("Yayasan Nurul Huda", regency="Kabupaten Sidoarjo")
    ikhlas = make_institution("Masjid Al-Ikhlas", regency="Kota Malang", category=Institution.Category.MASJID)
    made = [
        make_grant(huda, petugas=petugas, year=2026, dpa_number="5435260500000001",
                   amount_recommended=Decimal("350000000"), amount_approved=Decimal("300000000.50"),
                   status=S.DITETAPKAN, recommendation=Grant.Rekomendasi.ASPIRASI),
        make_grant(huda, petugas=None, year=2025, jenis="BS", purpose='=HYPERLINK("x") "kutip"'),
        make_grant(ikhlas, petugas=petugas2, year=2026, jenis="HM", status=S.LPJ_TERLAMBAT),
    ]
    return made


@pytest.mark.parametrize("language", ["id", "en"])
def test_export_then_import_gives_the_same_export(admin_client, grants, language):
    before = exported(admin_client, language)
    rows = table(before)
    assert len(rows) == 1 + 3 and rows[0][0] == "Kode"
    remove_everything()
    import_file(admin_client, before)
    after = exported(admin_client, language)
    assert sorted(table(after)[1:], key=str) == sorted(rows[1:], key=str)
    assert table(after)[0] == rows[0]
    assert sorted(Grant.objects.values_list("kode", flat=True)) == sorted(g.kode for g in grants)


def test_a_filtered_export_round_trips(admin_client, grants):
    before = exported(admin_client, tahun=2026)
    assert len(table(before)) == 1 + 2
    remove_everything()
    import_file(admin_client, before)
    assert sorted(table(exported(admin_client))[1:], key=str) == sorted(table(before)[1:], key=str)


def test_a_file_of_the_older_export_imports(admin_client, petugas):
    """The columns, labels and officer names the export wrote before (Indonesian and English headers)."""
    for header, status, jenis, code in (
        (["Kode", "Tahun Anggaran", "Nomor DPA", "Lembaga", "Kabupaten/Kota", "Nominasi", "Nominal usulan",
          "Nominal disetujui", "Status", "Jenis", "SK", "Petugas", "Rekomendasi", "Peruntukan", "Dibuat"],
         "Verifikasi administrasi", "Hibah Berbadan Hukum Indonesia", "HK"),
        (["Code", "Fiscal year", "DPA number", "Institution", "Regency/city", "Nomination", "Amount requested",
          "Amount approved", "Status", "Type", "SK", "Officer", "Recommendation", "Purpose", "Created"],
         "Administrative verification", "Bantuan Sosial", "BS"),
    ):
        remove_everything()
        book = Workbook()
        sheet = book.active
        sheet.append(header)
        sheet.append(["2026-HK-00007", 2026, "5435260500000077", "Yayasan Lama", "Kota Batu", 400000000,
                      400000000, None, status, jenis, "-", str(petugas), "REGULER", "Pembangunan", "1 Desember 2026"])
        buffer = io.BytesIO()
        book.save(buffer)
        import_file(admin_client, buffer.getvalue())
        grant = Grant.objects.get()
        assert (grant.kode, grant.fiscal_year, grant.dpa_number, grant.status, grant.petugas_id) == (
            "2026-HK-00007", 2026, "5435260500000077", S.VERIFIKASI_ADMINISTRASI, petugas.pk)
        assert grant.jenis == code and grant.institution.name == "Yayasan Lama" and grant.institution.regency == "Kota Batu"
