"""Clean text at every entry of the grants app: the search box, the institution list's filters, the dialogs'
forms and the spreadsheet/CSV import. On PostgreSQL a NUL reaching a query or an INSERT is a DataError (a 500);
on every engine it must not be stored."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from abah.grants.models import Contact, Grant, Institution, Note
from tests import cleantext
from tests.grants.conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db
HX = {"headers": {"HX-Request": "true"}}


@pytest.fixture
def lptq(petugas):
    return make_grant(make_institution("LPTQ Kabupaten Sidoarjo"), petugas=petugas, dpa_number="5435140501000005")


# ---------------------------------------------------------------- query parameters


def test_search_with_nul_and_controls(petugas_client, lptq):
    response = petugas_client.get(cleantext.query(reverse("grants:search"),
                                                  {"q": cleantext.nasty("lptq", surrogate=False)}))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="grant-card"') == 1
    response = petugas_client.get(cleantext.query(reverse("grants:search"), {"q": cleantext.nasty("lptq")}))
    assert response.status_code == 200
    # The code search (an exact match on kode) and the DPA search read the same cleaned text.
    response = petugas_client.get(cleantext.query(reverse("grants:search"),
                                                  {"q": cleantext.nasty(lptq.kode, surrogate=False)}))
    assert response.status_code == 302 and response["Location"] == reverse("grants:grant_detail", args=[lptq.pk])


def test_institution_list_filters_with_nul(petugas_client, lptq):
    url = cleantext.query(reverse("grants:institution_list"), {
        "q": cleantext.nasty("lptq", surrogate=False),
        "kabupaten": cleantext.nasty("Kabupaten Sidoarjo", surrogate=False)})
    response = petugas_client.get(url)
    assert response.status_code == 200
    assert "LPTQ Kabupaten Sidoarjo" in response.content.decode()
    response = petugas_client.get(cleantext.query(reverse("grants:institution_list"),
                                                  {"q": cleantext.nasty("x"), "kabupaten": cleantext.nasty("y")}))
    assert response.status_code == 200


# ---------------------------------------------------------------- forms


def test_note_form_stores_cleaned_text(petugas_client, lptq):
    url = reverse("grants:note_add", args=[lptq.pk])
    response = cleantext.post(petugas_client, url, {"text": cleantext.nasty("Berkas\u2029lengkap")}, **HX)
    assert response.status_code == 200
    assert Note.objects.get().text == cleantext.cleaned("Berkas\nlengkap")


def test_note_of_only_nul_is_refused_and_writes_nothing(petugas_client, lptq):
    url = reverse("grants:note_add", args=[lptq.pk])
    response = cleantext.post(petugas_client, url, {"text": "\x00\x00\x01"}, **HX)
    assert response.status_code == 200
    assert "wajib diisi" in response.content.decode() or "tidak boleh kosong" in response.content.decode()
    assert not Note.objects.exists()


def test_contact_form_stores_cleaned_text(petugas_client, lptq):
    url = reverse("grants:contact_edit", args=[lptq.institution_id])
    response = cleantext.post(petugas_client, url, {
        "region": cleantext.nasty("ID", surrogate=False), "phone": cleantext.nasty("0812-1630-0095", surrogate=False),
        "person": cleantext.nasty("Nur Hidayat")}, **HX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    contact = Contact.objects.get()
    assert (contact.phone, contact.person) == ("+6281216300095", cleantext.cleaned("Nur Hidayat"))


def test_status_form_stores_cleaned_text(petugas_client, petugas):
    grant = make_grant(make_institution(), petugas=petugas, status=Grant.Status.DIANGGARKAN)
    url = reverse("grants:grant_status", args=[grant.pk])
    response = cleantext.post(petugas_client, url, {
        "to": cleantext.nasty("DITETAPKAN", surrogate=False), "sk_number": cleantext.nasty("188/45/KPTS/013/2018"),
        "sk_date": "2018-01-19", "sk_issuer": cleantext.nasty("GUBERNUR JAWA TIMUR", surrogate=False),
        "amount_approved": "100000000", "note": cleantext.nasty("Catatan")}, **HX)
    assert response.status_code == 200, response.content.decode()[:2000]
    grant.refresh_from_db()
    assert grant.status == Grant.Status.DITETAPKAN
    assert (grant.sk_number, grant.sk_issuer) == (cleantext.cleaned("188/45/KPTS/013/2018"), "GUBERNUR JAWA TIMUR")


# ---------------------------------------------------------------- import


HEADER = ["lembaga", "kabupaten", "alamat", "kontak_person", "telepon", "tahun", "nominal_usulan", "peruntukan"]


def _csv(rows):
    lines = [";".join(HEADER)] + [";".join(r) for r in rows]
    return SimpleUploadedFile("hibah.csv", ("\n".join(lines) + "\n").encode("utf-8"))


def _upload_and_confirm(client, upload):
    response = client.post(reverse("grants:import_upload"), {"file": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert "\x00" not in html
    if 'data-testid="import-ok"' not in html:
        return html
    response = client.post(reverse("grants:import_confirm"), {"token": client.session["grants_import"]})
    assert response.status_code == 302
    return None


def test_csv_import_cells_are_cleaned(admin_client):
    rows = [["Masjid\x00 Al-Ikhlas\x01", "Kabupaten\x00 Jember", "Jl.\x1b Merdeka\u20281", "Nur\x00 Hidayat",
             "0812\x00-1630-0095", "20\x0018", "400.000\x00.000", "Pembangunan\x7f Masjid\x00"]]
    assert _upload_and_confirm(admin_client, _csv(rows)) is None
    institution = Institution.objects.get()
    assert (institution.name, institution.regency, institution.address) == (
        "Masjid Al-Ikhlas", "Kabupaten Jember", "Jl. Merdeka\n1")
    assert institution.current_contact.person == "Nur Hidayat"
    grant = Grant.objects.get()
    assert (grant.fiscal_year, grant.amount_requested, grant.purpose) == (2018, 400000000, "Pembangunan Masjid")


def test_xlsx_import_cells_are_cleaned(admin_client):
    # An .xlsx cannot hold C0 controls (XML refuses them) but holds C1 controls and line separators.
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["Yayasan\x85Darul\x9f Ulum", "Kota\u2029Malang", "", "", "", 2018, 75000000, "Santunan\x80 Yatim"])
    buffer = io.BytesIO()
    wb.save(buffer)
    assert _upload_and_confirm(admin_client, SimpleUploadedFile("hibah.xlsx", buffer.getvalue())) is None
    institution = Institution.objects.get()
    assert (institution.name, institution.regency) == ("Yayasan Darul Ulum", "Kota\nMalang")
    assert Grant.objects.get().purpose == "Santunan Yatim"


def test_import_row_of_only_nul_is_an_error_and_writes_nothing(admin_client):
    rows = [["\x00\x00", "", "", "", "", "2018", "100", ""]]
    html = _upload_and_confirm(admin_client, _csv(rows))
    assert html is not None and "Nama lembaga belum diisi" in html
    assert not Institution.objects.exists() and not Grant.objects.exists()
