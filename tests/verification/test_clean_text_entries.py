"""Clean text at the verification pages: the number and the code typed by a user who is not verified yet."""

import pytest

from tests import cleantext
from tests.verification.conftest import received_code

pytestmark = pytest.mark.django_db
NUMBER = "+628123090095"


def test_number_and_code_with_nul(newbie_client, newbie):
    response = cleantext.post(newbie_client, "/verifikasi/", {
        "country": cleantext.nasty("ID", surrogate=False), "number": cleantext.nasty("08123090095", surrogate=False)})
    assert response.status_code == 302 and response["Location"] == "/verifikasi/konfirmasi/"
    code = received_code(NUMBER)
    response = cleantext.post(newbie_client, "/verifikasi/konfirmasi/", {"code": cleantext.nasty(code, surrogate=False)})
    assert response.status_code == 302
    newbie.refresh_from_db()
    assert newbie.phone == NUMBER and newbie.phone_verified


def test_number_of_only_nul_is_a_translated_error(newbie_client, newbie):
    response = cleantext.post(newbie_client, "/verifikasi/", {"country": "ID", "number": b"\x00\x01"})
    assert response.status_code == 200
    assert "Masukkan nomor telepon genggam." in response.content.decode()
    newbie.refresh_from_db()
    assert newbie.phone == ""
