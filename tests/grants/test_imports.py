"""Import from .xlsx and .csv: preview with per-row errors, nothing written on error, one transaction."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from abah.grants import imports
from abah.grants.models import Activity, Contact, Grant, Institution
from tests.grants.conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db
HEADER = ["lembaga", "kabupaten", "kategori", "kontak_person", "telepon", "tahun", "kode", "jenis", "dpa",
          "nominal_usulan", "peruntukan", "status", "petugas"]
GOOD = [
    ["Masjid Al-Ikhlas Sukorejo", "Kabupaten Jember", "MASJID", "Nur Hidayat", "0812-1630-0095", "2018",
     "2018-HK-00005", "HK", "5435140501000005", "Rp400.000.000,00", "Pembangunan Masjid", "DITETAPKAN", "petugasa"],
    ["Masjid Al-Ikhlas Sukorejo", "Kabupaten Jember", "MASJID", "", "", "2019", "", "HK", "", "50000000",
     "Pengadaan Sarana Ibadah", "", ""],
    ["Yayasan Darul Ulum", "Kota Malang", "Yayasan", "Siti Aminah", "+6285730900003", "2018", "", "HM", "",
     "75.000.000", "Santunan Anak Yatim", "usulan_diterima", ""],
]


def xlsx(rows, header=HEADER):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("hibah.xlsx", buffer.getvalue())


def csv_file(rows, header=HEADER, delimiter=";"):
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    return SimpleUploadedFile("hibah.csv", ("\n".join(lines) + "\n").encode("utf-8"))


def test_good_xlsx_preview_then_confirm(admin_client, petugas):
    response = admin_client.post(reverse("grants:import_upload"), {"file": xlsx(GOOD)})
    html = response.content.decode()
    assert 'data-testid="import-ok"' in html and not Grant.objects.exists()
    token = admin_client.session["grants_import"]
    response = admin_client.post(reverse("grants:import_confirm"), {"token": token})
    assert response.status_code == 302
    assert Institution.objects.count() == 2 and Grant.objects.count() == 3 and Contact.objects.count() == 2
    grant = Grant.objects.get(kode="2018-HK-00005")
    assert grant.amount_requested == Decimal("400000000.00") and grant.status == Grant.Status.DITETAPKAN
    assert grant.petugas == petugas and grant.institution.contact_phone == "+6281216300095"
    assert Grant.objects.get(fiscal_year=2019).kode == "2019-HK-00001"
    assert Grant.objects.get(jenis="HM").amount_requested == Decimal("75000000")
    assert Activity.objects.filter(action="grant_created").count() == 3
    # The staged file is consumed: confirming twice does nothing more.
    admin_client.post(reverse("grants:import_confirm"), {"token": token})
    assert Grant.objects.count() == 3


def test_good_csv_with_comma(admin_client):
    rows = [[c.replace(",", "") for c in GOOD[2]]]
    response = admin_client.post(reverse("grants:import_upload"), {"file": csv_file(rows, delimiter=",")})
    assert 'data-testid="import-ok"' in response.content.decode()
    admin_client.post(reverse("grants:import_confirm"), {"token": admin_client.session["grants_import"]})
    assert Grant.objects.count() == 1


def test_bad_rows_are_reported_and_nothing_written(admin_client, petugas):
    make_grant(make_institution("Lama"), kode="2018-HK-00001", dpa_number="999")
    before = (Institution.objects.count(), Grant.objects.count(), Contact.objects.count())
    bad = GOOD + [
        ["Yayasan A", "", "", "", "", "20x8", "", "", "", "abc", "", "", ""],
        ["Yayasan B", "", "", "Nur", "0812-xxxx", "2018", "2018-HK-00001", "", "999", "100", "", "NGAWUR", "siapa"],
        ["Yayasan C", "", "", "Nur", "031-5678901", "2018", "2018-HK-00005", "ZZ", "5435140501000005", "100", "",
         "", ""],
        ["", "", "", "", "", "2018", "", "", "", "", "", "", ""],
    ]
    response = admin_client.post(reverse("grants:import_upload"), {"file": csv_file(bad)})
    html = response.content.decode()
    assert 'data-testid="import-errors"' in html and 'data-testid="import-confirm"' not in html
    for text in ("Tahun anggaran “20x8”", "“abc” pada kolom nominal_usulan", "Kode proses 2018-HK-00001 sudah ada",
                 "Nomor DPA 999 sudah ada", "Status “NGAWUR” tidak dikenal", "“siapa”",
                 "muncul dua kali dalam berkas (baris 2)", "Jenis “ZZ” tidak dikenal", "Nama lembaga belum diisi",
                 "Nominal usulan belum diisi"):
        assert text in html, text
    assert 'data-testid="import-row-5"' in html and 'data-testid="import-row-8"' in html
    # Even a forged confirmation of this file writes nothing.
    response = admin_client.post(reverse("grants:import_confirm"), {"token": admin_client.session["grants_import"]})
    assert response.status_code == 302
    assert (Institution.objects.count(), Grant.objects.count(), Contact.objects.count()) == before


def test_write_is_one_transaction(admin_user, petugas):
    rows = imports.validate([dict(zip(HEADER, r, strict=True)) for r in GOOD])
    assert not any(r.errors for r in rows)
    rows[2].clean["tahun"] = 1  # fails inside the service, after two rows were written
    with pytest.raises(Exception):  # noqa: B017 - any failure must roll back
        imports.write(rows, user=admin_user)
    assert not Grant.objects.exists() and not Institution.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize("upload,message", [
    (SimpleUploadedFile("x.txt", b"abc"), "Unggah berkas .xlsx atau .csv."),
    (SimpleUploadedFile("x.xlsx", b"not a zip"), "bukan buku kerja .xlsx"),
    (SimpleUploadedFile("x.csv", b"lembaga;warna\nA;merah\n"), "Kolom tidak dikenal: warna."),
    (SimpleUploadedFile("x.csv", b"nama\nA\n"), "paling tidak “lembaga”"),
    (SimpleUploadedFile("x.csv", b"lembaga\n\xff\xfe\n"), "UTF-8"),
])
def test_bad_files(admin_client, upload, message):
    response = admin_client.post(reverse("grants:import_upload"), {"file": upload})
    assert message in response.content.decode()
    assert not Institution.objects.exists()


def test_too_large_file(admin_client, settings):
    big = SimpleUploadedFile("x.csv", b"lembaga\n" + b"A" * (imports.MAX_BYTES + 10))
    assert "lebih besar dari 5 MB" in admin_client.post(reverse("grants:import_upload"), {"file": big}).content.decode()


def test_expired_or_foreign_token(admin_client):
    response = admin_client.post(reverse("grants:import_confirm"), {"token": "../../etc/passwd"})
    assert response.status_code == 302 and not Grant.objects.exists()


def test_import_is_admin_only(petugas_client):
    assert petugas_client.get(reverse("grants:import_upload")).status_code == 403
    assert petugas_client.post(reverse("grants:import_confirm"), {"token": "x" * 20}).status_code == 403


@pytest.mark.parametrize("text,value", [("400000000", Decimal("400000000")), ("400.000.000", Decimal("400000000")),
                                        ("Rp400.000.000,50", Decimal("400000000.50")), ("1500.5", Decimal("1500.5")),
                                        ("", None)])
def test_parse_amount(text, value):
    assert imports.parse_amount(text) == value


@pytest.mark.parametrize("text", ["abc", "1,2,3", "-5", "1e5"])
def test_parse_amount_rejects(text):
    with pytest.raises(ValueError):
        imports.parse_amount(text)
