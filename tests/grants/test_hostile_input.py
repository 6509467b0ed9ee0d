"""Issue 13, findings 4, 5, 7 and 9 in the grants app: implausible dates refused by every dialog, a stored one
does not break the grant page, ?hibah=² on the Kontak dialog, open redirects through ``next``, the fiscal-year
close with a bad year, and a CSV cell over the csv module's field limit."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from abah.grants import services
from abah.grants.models import Activity, Disbursement, Grant, Note
from tests.grants.conftest import make_grant, make_institution

S = Grant.Status
pytestmark = pytest.mark.django_db
BOUND = "Masukkan tanggal antara 1 Januari 2000 dan 31 Desember 2100."
EXTREME = ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"]
EVIL = ["https://evil.example", "//evil.example", "javascript:alert(1)", "/\\evil.example", "https:evil.example"]


@pytest.fixture
def staff(petugas):
    client = Client(raise_request_exception=False)
    client.force_login(petugas)
    return client


@pytest.fixture
def owing(institution, petugas):
    services.contact_set(institution=institution, person="Nur", phone="081216300095", by=petugas)
    return make_grant(institution, petugas=petugas, status=S.LPJ_MENUNGGU, stage_count=1,
                      amount_approved=Decimal("50000000"), lpj_due_date=datetime.date(2019, 1, 10))


def _snapshot(grant):
    grant.refresh_from_db()
    return (grant.status, grant.lpj_due_date, grant.lpj_received_on, grant.sk_date, grant.nphd_date,
            Activity.objects.count(), Disbursement.objects.count(), Note.objects.count())


@pytest.mark.parametrize("value", EXTREME)
def test_lpj_due_date_and_received_on_are_bounded(staff, owing, value):
    before = _snapshot(owing)
    url = reverse("grants:lpj", args=[owing.pk])
    for data in ({"op": "due", "due_date": value}, {"op": "receive", "received_on": value}):
        response = staff.post(url, data)
        assert response.status_code == 200 and BOUND in response.content.decode()
    assert _snapshot(owing) == before


@pytest.mark.parametrize("value", EXTREME)
def test_disbursement_date_is_bounded(staff, institution, petugas, value):
    grant = make_grant(institution, petugas=petugas, status=S.NPHD_DITANDATANGANI, stage_count=1,
                       amount_approved=Decimal("50000000"), lpj_due_date=datetime.date(2019, 1, 10))
    before = _snapshot(grant)
    response = staff.post(reverse("grants:disbursement", args=[grant.pk, 1]),
                          {"amount": "50000000", "paid_on": value, "sp2d_number": "1/SP2D"})
    assert response.status_code == 200 and BOUND in response.content.decode()
    assert _snapshot(grant) == before


@pytest.mark.parametrize("value", EXTREME)
def test_sk_date_nphd_date_and_nphd_signing_are_bounded(staff, institution, petugas, value):
    grant = make_grant(institution, petugas=petugas, status=S.DIANGGARKAN)
    before = _snapshot(grant)
    response = staff.post(reverse("grants:grant_status", args=[grant.pk]), {
        "to": S.DITETAPKAN, "sk_number": "188/1/KPTS/013/2018", "sk_date": value, "sk_issuer": "GUBERNUR"})
    assert response.status_code == 200 and BOUND in response.content.decode()
    assert _snapshot(grant) == before
    Grant.objects.filter(pk=grant.pk).update(status=S.DITETAPKAN)
    response = staff.post(reverse("grants:nphd_sign", args=[grant.pk]), {
        "signed_on": value, "lpj_due_date": value, "region": "ID", "phone": "081216300095", "person": "Nur"})
    assert response.status_code == 200 and BOUND in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == S.DITETAPKAN and grant.nphd_signed_on is None and grant.lpj_due_date is None


@pytest.mark.parametrize("due", [datetime.date(9999, 12, 31), datetime.date(1, 1, 1), datetime.date(9999, 12, 20)])
def test_a_stored_extreme_due_date_does_not_break_the_grant_page(staff, owing, due):
    Grant.objects.filter(pk=owing.pk).update(lpj_due_date=due)  # stored before the forms refused it
    response = staff.get(reverse("grants:grant_detail", args=[owing.pk]))
    assert response.status_code == 200
    assert owing.kode in response.content.decode()


@pytest.mark.parametrize("target", EVIL)
def test_dialogs_do_not_follow_next_off_site(staff, owing, target):
    response = staff.post(reverse("grants:note_add", args=[owing.pk]), {"text": "Berkas lengkap", "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("grants:grant_detail", args=[owing.pk])
    assert Note.objects.count() == 1


def test_dialogs_follow_next_on_this_site(staff, owing):
    response = staff.post(reverse("grants:note_add", args=[owing.pk]), {"text": "Berkas", "next": "/hibah/cari/?q=x"})
    assert response["Location"] == "/hibah/cari/?q=x"


@pytest.mark.parametrize("value", ["²", "١٢", "10000000000000000000000000", "-1", "abc"])
def test_contact_dialog_ignores_a_bad_grant_id(staff, owing, value):
    url = reverse("grants:contact_edit", args=[owing.institution.pk])
    assert staff.get(url, {"hibah": value}).status_code == 200
    response = staff.post(f"{url}?hibah={value}", {"region": "ID", "phone": "081216300096", "person": "Nur"})
    assert response.status_code == 302


@pytest.mark.parametrize("value", ["0", "99999", "abc", "1999", "2101", "²⁰²⁶", "٢٠١٨", "", "-2018"])
def test_fiscal_year_close_refuses_a_bad_year_with_a_message(admin_user, owing, value):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    before = _snapshot(owing)
    response = client.post(reverse("grants:fiscal_year_close"), {"fiscal_year": value})
    assert response.status_code == 400
    assert "Masukkan tahun anggaran antara 2000 dan 2100." in response.content.decode()
    assert _snapshot(owing) == before


def test_csv_cell_over_the_field_limit_is_refused_with_a_message(admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    make_institution("Yayasan Lama")
    content = ("lembaga,alamat\n" + '"Yayasan Baru","' + "x" * (200 * 1024) + '"\n').encode()
    response = client.post(reverse("grants:import_upload"),
                           {"file": SimpleUploadedFile("data.csv", content, content_type="text/csv")})
    assert response.status_code == 200
    assert "lebih panjang dari 128 KB" in response.content.decode()
    assert "grants_import" not in client.session
