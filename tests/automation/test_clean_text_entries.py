"""Clean text at every entry of the automation screens: the template editor, its preview, the broadcast form."""

import pytest
from django.urls import reverse

from abah.automation.models import Broadcast, SmsTemplate
from tests import cleantext

from .conftest import make_grant

pytestmark = pytest.mark.django_db

EDIT = reverse("automation:template_edit", args=["lpj_billing"])
PREVIEW = reverse("automation:template_preview", args=["lpj_billing"])
TEXT = "Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} paling lambat {tgl_batas}.\u2028Biro Kesra Jatim"


def current():
    return SmsTemplate.objects.select_related("current").get(kind="lpj_billing").current


def test_template_save_stores_cleaned_text(admin_client):
    response = cleantext.post(admin_client, EDIT, {"text": cleantext.nasty(TEXT, surrogate=False),
                                                   "money": cleantext.nasty("1", surrogate=False)})
    assert response.status_code == 302
    version = current()
    assert version.text.split() == TEXT.split() and version.legacy_money is True  # the service folds white space
    assert cleantext.no_nul(version.text) and "\x1b" not in version.text


def test_template_of_only_nul_is_refused_and_changes_nothing(admin_client):
    before = current()
    response = cleantext.post(admin_client, EDIT, {"text": "\x00\x00", "money": ""})
    assert response.status_code == 200
    assert current().pk == before.pk


def test_preview_with_nul_in_the_grant_code_and_the_text(admin_client):
    grant = make_grant()
    response = cleantext.post(admin_client, PREVIEW, {
        "text": cleantext.nasty("Yth. {lembaga}", surrogate=False), "grant": cleantext.nasty(grant.kode, surrogate=False),
        "money": b"\x00"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Yth. Yayasan Nurul Huda" in body and "\x00" not in body
    response = cleantext.post(admin_client, PREVIEW, {"text": cleantext.nasty("x"), "grant": cleantext.nasty("y")})
    assert response.status_code == 200


def test_broadcast_text_is_cleaned(admin_client):
    make_grant()
    response = cleantext.post(admin_client, reverse("automation:broadcast_new"), {
        "text": cleantext.nasty("Yth. {lembaga}, rapat besok.", surrogate=False), "isi": "", "action": "confirm",
        "status": cleantext.nasty("", surrogate=False)})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Broadcast.objects.get().text == "Yth. {lembaga}, rapat besok."
