"""The template editor: Admin only, placeholder validation, live preview on a real grant, versions and restore."""

import datetime

import pytest
from django.urls import reverse

from abah.automation.models import SmsTemplate
from abah.grants.models import Grant

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db

EDIT = reverse("automation:template_edit", args=["lpj_billing"])
PREVIEW = reverse("automation:template_preview", args=["lpj_billing"])


def current(kind="lpj_billing"):
    return SmsTemplate.objects.select_related("current").get(kind=kind).current


def test_only_admins_edit_templates(petugas_client):
    assert petugas_client.get(reverse("automation:template_list")).status_code == 403
    assert petugas_client.get(EDIT).status_code == 403
    before = current().text
    assert petugas_client.post(EDIT, {"text": "Yth. {lembaga}"}).status_code == 403
    assert petugas_client.post(PREVIEW, {"text": "x"}).status_code == 403
    assert current().text == before


def test_list_and_edit_page(admin_client):
    page = admin_client.get(reverse("automation:template_list")).content.decode()
    assert "LPJ billing" in page or "Penagihan LPJ" in page
    response = admin_client.get(EDIT)
    assert response.status_code == 200
    body = response.content.decode()
    assert "{tgl_batas}" in body and 'data-sms-counter="#template-counter"' in body
    assert admin_client.get(reverse("automation:template_edit", args=["nope"])).status_code == 404


def test_unknown_placeholder_is_refused_and_changes_nothing(admin_client):
    before = current()
    response = admin_client.post(EDIT, {"text": "Yth. {lembaga}, LPJ batas {tgl_batas} {jam} {foo}.", "money": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "{jam}" in body and "{foo}" in body
    assert 'data-testid="text-error"' in body
    assert current().pk == before.pk


def test_save_creates_a_version_and_restore_brings_an_old_text_back(admin_client, admin_user):
    v1 = current()
    text = "Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} ({nominal}) paling lambat {tgl_batas}. Biro Kesra Jatim"
    response = admin_client.post(EDIT, {"text": text, "money": "1"})
    assert response.status_code == 302
    v2 = current()
    assert (v2.number, v2.text, v2.legacy_money, v2.created_by) == (2, text, True, admin_user)
    # The same text again: no new version.
    admin_client.post(EDIT, {"text": text, "money": "1"})
    assert current().pk == v2.pk
    response = admin_client.post(reverse("automation:template_restore", args=["lpj_billing", v1.pk]))
    assert response.status_code == 302
    v3 = current()
    assert (v3.number, v3.text, v3.legacy_money) == (3, v1.text, v1.legacy_money)
    page = admin_client.get(EDIT).content.decode()
    assert 'data-testid="version-1"' in page and 'data-testid="version-3"' in page


def test_preview_on_a_real_grant(admin_client, petugas):
    grant = make_grant(make_institution("Masjid Al-Ikhlas"), status=Grant.Status.LPJ_MENUNGGU, petugas=petugas,
                       lpj_due_date=datetime.date(2019, 1, 10))
    response = admin_client.post(PREVIEW, {"text": current().text, "grant": grant.kode, "money": "1"})
    body = response.content.decode()
    assert "Masjid Al-Ikhlas" in body and "Rp. 400.000.000,00" in body and "10 Januari 2019" in body
    assert "GSM-7" in body
    response = admin_client.post(PREVIEW, {"text": "{lembaga} {xyz}", "grant": grant.kode})
    assert 'data-testid="preview-errors"' in response.content.decode() and "{xyz}" in response.content.decode()
    response = admin_client.post(PREVIEW, {"text": current().text, "grant": "2099-HK-99999"})
    assert "2099-HK-99999" in response.content.decode()  # not found: said so, example values used


def test_warnings_for_ucs2_and_long_texts(admin_client, petugas):
    make_grant(make_institution(), status=Grant.Status.LPJ_MENUNGGU, petugas=petugas,
               lpj_due_date=datetime.date(2019, 1, 10))
    curly = "Yth. \u201cPimpinan\u201d {lembaga},\u00a0LPJ batas {tgl_batas} \U0001F600"
    body = admin_client.post(PREVIEW, {"text": curly}).content.decode()
    assert "UCS-2" in body and body.count('data-testid="preview-warning"') == 1
    long = "Yth. {lembaga}, " + "LPJ wajib diterima paling lambat {tgl_batas}. " * 8
    body = admin_client.post(PREVIEW, {"text": long}).content.decode()
    assert 'data-testid="preview-warning"' in body and "segmen" in body.lower()
