"""Search, cards, grant/institution pages, the dialogs, permissions, export and the dashboard section."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from abah.grants import services
from abah.grants.models import Contact, Grant, Note
from tests.conftest import make_user
from tests.grants.conftest import make_grant, make_institution

S = Grant.Status
pytestmark = pytest.mark.django_db
SEARCH = "/hibah/cari/"


@pytest.fixture
def lptq(petugas):
    institution = make_institution("LPTQ Kabupaten Sidoarjo")
    active = make_grant(institution, petugas=petugas, status=S.DITETAPKAN, dpa_number="5435140501000005",
                        amount_approved=Decimal("9000000000"), sk_number="188/45/KPTS/013/2018",
                        sk_date=datetime.date(2018, 1, 19), sk_stage=1, sk_issuer="GUBERNUR JAWA TIMUR")
    for _ in range(3):
        make_grant(institution, petugas=petugas, status=S.ARSIP, year=2017)
    return active


def test_exact_code_jumps_to_the_grant(petugas_client, lptq):
    response = petugas_client.get(SEARCH, {"q": lptq.kode.lower()})
    assert response.status_code == 302 and response["Location"] == reverse("grants:grant_detail", args=[lptq.pk])


def test_exact_code_of_an_archived_grant_jumps_too(petugas_client, lptq):
    archived = Grant.objects.filter(status=S.ARSIP).first()
    response = petugas_client.get(SEARCH, {"q": archived.kode})
    assert response.status_code == 302


def test_name_search_shows_cards_and_counts(petugas_client, lptq):
    make_grant(make_institution("Masjid Al-Ikhlas"), status=S.USULAN_DITERIMA)
    response = petugas_client.get(SEARCH, {"q": "lptq"})
    html = response.content.decode()
    assert "Menampilkan hasil untuk <strong>Data Aktif</strong> dari 1 s/d 1 dari total 1." in html
    assert "Lihat hasil pencarian Data Arsip (3 hasil)." in html
    assert html.count('data-testid="grant-card"') == 1 and "Masjid Al-Ikhlas" not in html
    for label in ("Kode", "DPA", "Lembaga", "Nominasi", "Status", "Jenis", "SK", "Petugas", "Rekomendasi",
                  "Dibuat", "Rp9.000.000.000,00", "Hibah Berbadan Hukum Indonesia",
                  "Tahap I, GUBERNUR JAWA TIMUR, 188/45/KPTS/013/2018, 19 Januari 2018", "REGULER"):
        assert label in html, label
    for key in ("view", "institution", "contact", "undangan_nphd", "pesan", "note", "log", "disbursement1",
                "disbursement2", "spj"):
        assert f'data-testid="card-{key}"' in html, key
    assert 'title="Belum tersedia"' not in html  # every card action is built now


def test_archive_scope(petugas_client, lptq):
    html = petugas_client.get(SEARCH, {"q": "LPTQ", "scope": "arsip"}).content.decode()
    assert "Menampilkan hasil untuk <strong>Data Arsip</strong> dari 1 s/d 3 dari total 3." in html
    assert html.count('data-testid="grant-card"') == 3 and "Data Aktif (1 hasil)" in html


def test_scope_export_and_page_links_keep_the_query(petugas_client, institution):
    """The links are followed as a browser follows them: the query survives (a "??" once dropped it)."""
    for _ in range(25):
        make_grant(institution)
    html = petugas_client.get(SEARCH, {"q": "nurul"}).content.decode()
    for testid in ("link-arsip", "export-xlsx"):
        href = html.split(f'data-testid="{testid}"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        assert href.startswith("?q=nurul&"), href
    next_page = html.split("Berikutnya")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "dari 21 s/d 25 dari total 25" in petugas_client.get(SEARCH + next_page).content.decode()


def test_dpa_search(petugas_client, lptq):
    html = petugas_client.get(SEARCH, {"q": "5435140501000005"}).content.decode()
    assert html.count('data-testid="grant-card"') == 1 and lptq.kode in html


def test_search_paginates(petugas_client, institution):
    for _ in range(25):
        make_grant(institution)
    html = petugas_client.get(SEARCH, {"q": "nurul", "page": 2}).content.decode()
    assert "dari 21 s/d 25 dari total 25" in html and html.count('data-testid="grant-card"') == 5


def test_search_query_count_does_not_grow_with_results(petugas_client, institution, django_assert_max_num_queries):
    for _ in range(20):
        make_grant(institution)
    with django_assert_max_num_queries(12):
        petugas_client.get(SEARCH, {"q": "nurul"})


def test_export_xlsx(petugas_client, lptq):
    response = petugas_client.get(SEARCH, {"q": "lptq", "export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Kode" and len(rows) == 2 and rows[1][0] == lptq.kode


def test_grant_and_institution_pages(petugas_client, lptq):
    html = petugas_client.get(reverse("grants:grant_detail", args=[lptq.pk])).content.decode()
    assert lptq.kode in html and "LPTQ Kabupaten Sidoarjo" in html
    html = petugas_client.get(reverse("grants:institution_detail", args=[lptq.institution_id])).content.decode()
    assert "***4556" in html and "0011223344556" not in html


def test_institution_list_filters(petugas_client, lptq):
    make_institution("Masjid Al-Ikhlas")
    html = petugas_client.get(reverse("grants:institution_list"), {"q": "masjid"}).content.decode()
    assert "Masjid Al-Ikhlas" in html and "LPTQ" not in html


# ---------------------------------------------------------------- Kontak dialog


def _contact_url(grant):
    return reverse("grants:contact_edit", args=[grant.institution_id])


def test_contact_dialog_renders_for_htmx(petugas_client, lptq):
    html = petugas_client.get(_contact_url(lptq), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and "Negara" in html and "Nomor Telepon" in html and "Kontak Person" in html


def indonesian(msgid):
    """The Indonesian text of a message (whichever catalogue provides it); it must be translated."""
    with translation.override("id"):
        text = translation.gettext(msgid)
    assert text != msgid
    return text


@pytest.mark.parametrize("raw,msgid", [
    ("0812-xxxx", "A phone number may not contain letters."),
    ("031-5678901", "This is not a mobile number (a landline cannot receive SMS)."),
])
def test_contact_dialog_rejects_bad_numbers(petugas_client, lptq, raw, msgid):
    message = indonesian(msgid)
    response = petugas_client.post(_contact_url(lptq), {"region": "ID", "phone": raw, "person": "Nur Hidayat"},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Contact.objects.exists()


def test_contact_dialog_saves_e164(petugas_client, lptq):
    response = petugas_client.post(_contact_url(lptq), {"region": "ID", "phone": "0812-1630-0095",
                                                        "person": "Nur Hidayat", "hibah": lptq.pk},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    assert "abah:close-modal" in response["HX-Trigger"]
    contact = Contact.objects.get()
    assert contact.phone == "+6281216300095" and contact.person == "Nur Hidayat"
    assert lptq.activities.filter(action="contact_set").exists()


def test_contact_dialog_without_htmx_redirects(petugas_client, lptq):
    response = petugas_client.post(_contact_url(lptq), {"region": "ID", "phone": "081216300095", "person": "Nur"})
    assert response.status_code == 302


# ---------------------------------------------------------------- permissions


def test_other_petugas_can_read_but_not_change(client, lptq, petugas2):
    client.force_login(petugas2)
    assert client.get(reverse("grants:grant_detail", args=[lptq.pk])).status_code == 200
    assert client.get(SEARCH, {"q": "lptq"}).status_code == 200
    assert client.get(_contact_url(lptq)).status_code == 200  # read-only
    assert client.post(_contact_url(lptq), {"region": "ID", "phone": "081216300095", "person": "X"}).status_code == 403
    assert client.post(reverse("grants:note_add", args=[lptq.pk]), {"text": "x"}).status_code == 403
    assert client.post(reverse("grants:grant_status", args=[lptq.pk]), {"to": S.BATAL}).status_code == 403
    assert client.get(reverse("grants:nphd_sign", args=[lptq.pk])).status_code == 403
    assert client.get(reverse("grants:disbursement", args=[lptq.pk, 1])).status_code == 403
    assert client.get(reverse("grants:lpj", args=[lptq.pk])).status_code == 403
    assert client.get(reverse("grants:grant_assign", args=[lptq.pk])).status_code == 403
    assert not Note.objects.exists() and not Contact.objects.exists()
    lptq.refresh_from_db()
    assert lptq.status == S.DITETAPKAN


def test_card_disables_change_links_for_other_petugas(client, lptq, petugas2):
    client.force_login(petugas2)
    html = client.get(SEARCH, {"q": "lptq"}).content.decode()
    assert 'disabled data-testid="card-note"' in html and 'data-testid="card-assign"' not in html


def test_admin_changes_and_assigns(admin_client, lptq, petugas2):
    response = admin_client.post(reverse("grants:grant_assign", args=[lptq.pk]), {"petugas": petugas2.pk})
    assert response.status_code == 302
    lptq.refresh_from_db()
    assert lptq.petugas == petugas2
    assert admin_client.post(reverse("grants:note_add", args=[lptq.pk]), {"text": "Cek"}).status_code == 302


def test_inactive_or_roleless_user_gets_403(client, lptq):
    client.force_login(make_user("tamu", role="", phone="+6281230900077", phone_verified_at=timezone.now()))
    assert client.get(SEARCH).status_code == 403


# ---------------------------------------------------------------- lifecycle dialogs


def test_note_dialog(petugas_client, lptq):
    url = reverse("grants:note_add", args=[lptq.pk])
    assert "Tambah Catatan" in petugas_client.get(url, headers={"HX-Request": "true"}).content.decode()
    response = petugas_client.post(url, {"text": "  "}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and not Note.objects.exists()
    petugas_client.post(url, {"text": "Berkas lengkap"}, headers={"HX-Request": "true"})
    assert Note.objects.get().text == "Berkas lengkap"


def test_status_dialog_sets_sk_and_refuses_illegal(petugas_client, institution, petugas):
    grant = make_grant(institution, petugas=petugas, status=S.DIANGGARKAN)
    url = reverse("grants:grant_status", args=[grant.pk])
    response = petugas_client.post(url, {"to": S.DITETAPKAN, "sk_number": "", "sk_date": ""})
    assert response.status_code == 200 and "Masukkan nomor dan tanggal SK." in response.content.decode()
    response = petugas_client.post(url, {"to": S.SELESAI})
    assert response.status_code == 200
    grant.refresh_from_db()
    assert grant.status == S.DIANGGARKAN
    petugas_client.post(url, {"to": S.DITETAPKAN, "sk_number": "188/1/KPTS/013/2018", "sk_date": "2018-01-19",
                              "sk_issuer": "GUBERNUR JAWA TIMUR"})
    grant.refresh_from_db()
    assert grant.status == S.DITETAPKAN and grant.sk_number == "188/1/KPTS/013/2018"


def test_nphd_signed_asks_for_contact(petugas_client, lptq):
    url = reverse("grants:nphd_sign", args=[lptq.pk])
    html = petugas_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Silahkan sediakan Nomor Kontak untuk LPTQ Kabupaten Sidoarjo" in html
    response = petugas_client.post(url, {"signed_on": "2018-11-30", "region": "ID", "phone": "0812-xxxx",
                                         "person": "Nur"}, headers={"HX-Request": "true"})
    assert indonesian("A phone number may not contain letters.") in response.content.decode()
    lptq.refresh_from_db()
    assert lptq.status == S.DITETAPKAN
    petugas_client.post(url, {"signed_on": "2018-11-30", "region": "ID", "phone": "081216300095",
                              "person": "Nur Hidayat"}, headers={"HX-Request": "true"})
    lptq.refresh_from_db()
    assert lptq.status == S.NPHD_DITANDATANGANI and lptq.institution.contact_phone == "+6281216300095"


def test_nphd_signed_without_asking_when_contact_exists(petugas_client, lptq, petugas):
    services.contact_set(institution=lptq.institution, person="Nur", phone="081216300095", by=petugas)
    html = petugas_client.get(reverse("grants:nphd_sign", args=[lptq.pk])).content.decode()
    assert "Silahkan sediakan" not in html and 'name="phone"' not in html


def test_disbursement_and_lpj_dialogs(petugas_client, institution, petugas):
    services.contact_set(institution=institution, person="Nur", phone="081216300095", by=petugas)
    grant = make_grant(institution, petugas=petugas, status=S.NPHD_DITANDATANGANI, stage_count=1,
                       amount_approved=Decimal("50000000"), lpj_due_date=datetime.date(2019, 1, 10))
    url = reverse("grants:disbursement", args=[grant.pk, 1])
    response = petugas_client.post(url, {"amount": "60000000", "paid_on": "2018-12-03", "sp2d_number": "1/SP2D"})
    assert "melebihi" in response.content.decode()
    petugas_client.post(url, {"amount": "50000000", "paid_on": "2018-12-03", "sp2d_number": "1/SP2D"})
    grant.refresh_from_db()
    assert grant.status == S.LPJ_MENUNGGU
    lpj = reverse("grants:lpj", args=[grant.pk])
    petugas_client.post(lpj, {"op": "receive", "received_on": "2019-01-05"})
    petugas_client.post(lpj, {"op": "verify"})
    petugas_client.post(lpj, {"op": "close"})
    grant.refresh_from_db()
    assert grant.status == S.ARSIP and grant.lpj_received_on == datetime.date(2019, 1, 5)


def test_log_dialog(petugas_client, lptq):
    html = petugas_client.get(reverse("grants:grant_log", args=[lptq.pk])).content.decode()
    assert lptq.kode in html and "dibuat" in html


def test_fiscal_year_close_view(admin_client, lptq):
    response = admin_client.post(reverse("grants:fiscal_year_close"), {"fiscal_year": 2018})
    assert response.status_code == 302
    lptq.refresh_from_db()
    assert lptq.status == S.ARSIP


def test_dashboard_section(petugas_client, lptq, petugas):
    make_grant(lptq.institution, petugas=petugas, status=S.LPJ_TERLAMBAT, lpj_due_date=datetime.date(2019, 1, 10))
    html = petugas_client.get("/").content.decode()
    assert "Hibah saya" in html and "LPJ terlambat (1)" in html and "SK ditetapkan: 1" in html


def test_number_only_query_is_not_a_name(petugas_client, lptq):
    make_institution("Yayasan 45")
    html = petugas_client.get(SEARCH, {"q": "545"}).content.decode()
    assert "dari total 0" in html


def test_empty_search_lists_active_grants(petugas_client, lptq):
    html = petugas_client.get(SEARCH).content.decode()
    assert "dari 1 s/d 1 dari total 1" in html and "Data Arsip (3 hasil)" in html
