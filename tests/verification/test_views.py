"""The verification pages and the middleware that sends unverified users to them."""

import re

import pytest
from django.urls import reverse

from abah.verification.models import VerificationCode
from tests.verification.conftest import received_code

NUMBER = "+628123090095"

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- middleware


def test_unverified_user_is_sent_to_perbaruhi_kontak(newbie_client):
    for path in ["/", "/akun/profil/", "/notifikasi/", "/notifikasi/pesan/tulis/"]:
        response = newbie_client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/verifikasi/", path


def test_htmx_requests_get_hx_redirect_instead_of_a_302(newbie_client):
    response = newbie_client.get("/notifikasi/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/verifikasi/"


def test_exempt_pages_are_not_redirected(newbie_client):
    assert newbie_client.get("/verifikasi/").status_code == 200
    assert newbie_client.get("/health/").status_code == 200
    response = newbie_client.post("/i18n/setlang/", {"language": "en", "next": "/verifikasi/"})
    assert response["Location"] == "/verifikasi/"
    response = newbie_client.get("/static/css/abah.css")
    assert response.get("Location") != "/verifikasi/"
    response = newbie_client.post("/akun/keluar/")
    assert response.status_code == 302 and "/akun/masuk/" in response["Location"]


def test_anonymous_users_go_to_login_not_to_verification(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/akun/masuk/")


def test_verified_users_are_not_redirected(petugas_client):
    assert petugas_client.get("/").status_code == 200


# ---------------------------------------------------------------- pages


def test_contact_page_shows_country_list_with_indonesia_first(newbie_client):
    response = newbie_client.get("/verifikasi/")
    html = response.content.decode()
    assert "Perbaruhi Kontak" in html and "Negara" in html and "Nomor telepon" in html
    assert ">Perbarui</button>" in html
    options = re.findall(r'<option value="([A-Z]{2})"( selected)?>([^<]+)</option>', html)
    assert options[0] == ("ID", " selected", "Indonesia (+62)")
    assert len(options) > 200


def test_full_flow_number_code_dashboard(newbie_client, newbie):
    response = newbie_client.post("/verifikasi/", {"country": "ID", "number": "08123090095"})
    assert response.status_code == 302 and response["Location"] == "/verifikasi/konfirmasi/"
    page = newbie_client.get("/verifikasi/konfirmasi/").content.decode()
    assert "Konfirmasi Nomor Telepon" in page
    assert (
        "Kode verifikasi telah dikirim ke +62*****0095. Masukkan di sini untuk memastikan nomor telepon anda "
        "tervalidasi." in page
    )
    assert ">Konfirmasi</button>" in page
    text = re.sub(r"<[^>]+>", "", page.split('data-testid="resend"')[1].split("</form>")[0])
    assert " ".join(text.split()).endswith("Kode tidak terkirim, klik di sini untuk mengirim ulang!")

    code = received_code(NUMBER)
    response = newbie_client.post("/verifikasi/konfirmasi/", {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("core:dashboard")
    newbie.refresh_from_db()
    assert newbie.phone == NUMBER and newbie.phone_verified
    response = newbie_client.get("/", follow=True)
    assert "Nomor telepon anda telah diverifikasi." in response.content.decode()


def test_wrong_code_five_times_then_blocked(newbie_client, newbie):
    newbie_client.post("/verifikasi/", {"country": "ID", "number": "08123090095"})
    code = received_code(NUMBER)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        page = newbie_client.post("/verifikasi/konfirmasi/", {"code": wrong}).content.decode()
        assert f"Kode verifikasi salah. Sisa {left} kali percobaan." in page
    page = newbie_client.post("/verifikasi/konfirmasi/", {"code": wrong}).content.decode()
    assert "Kode ini tidak dapat dipakai lagi; mintalah kode baru." in page
    page = newbie_client.post("/verifikasi/konfirmasi/", {"code": code}).content.decode()
    assert "Kode ini sudah terlalu sering salah dimasukkan. Mintalah kode baru." in page
    newbie.refresh_from_db()
    assert not newbie.phone_verified


def test_resend_respects_the_cooldown(newbie_client):
    newbie_client.post("/verifikasi/", {"country": "ID", "number": "08123090095"})
    response = newbie_client.post("/verifikasi/kirim-ulang/", follow=True)
    assert re.search(r"Harap tunggu \d+ detik sebelum meminta kode baru\.", response.content.decode())
    assert VerificationCode.objects.count() == 1


def test_resend_get_is_not_allowed(newbie_client):
    newbie_client.post("/verifikasi/", {"country": "ID", "number": "08123090095"})
    assert newbie_client.get("/verifikasi/kirim-ulang/").status_code == 405
    assert VerificationCode.objects.count() == 1


def test_bad_number_shows_translated_error_and_changes_nothing(newbie_client, newbie):
    page = newbie_client.post("/verifikasi/", {"country": "ID", "number": "0812abc"}).content.decode()
    assert "Nomor telepon tidak boleh berisi huruf." in page
    assert VerificationCode.objects.count() == 0
    newbie.refresh_from_db()
    assert newbie.phone == ""


def test_confirm_without_pending_code_goes_to_contact(newbie_client):
    response = newbie_client.get("/verifikasi/konfirmasi/")
    assert response["Location"] == "/verifikasi/"


def test_profile_kontak_tab_links_to_the_change_and_returns_there(petugas_client, petugas):
    old = petugas.phone
    page = petugas_client.get("/akun/profil/kontak/").content.decode()
    assert 'href="/verifikasi/"' in page
    page = petugas_client.get("/verifikasi/").content.decode()
    assert old in page  # "your current number stays active"
    petugas_client.post("/verifikasi/", {"country": "ID", "number": "08123090095"})
    petugas.refresh_from_db()
    assert petugas.phone == old
    assert petugas_client.get("/").status_code == 200  # still verified: not sent anywhere
    response = petugas_client.post("/verifikasi/konfirmasi/", {"code": received_code(NUMBER)})
    assert response["Location"] == "/akun/profil/kontak/"
    petugas.refresh_from_db()
    assert petugas.phone == NUMBER


def test_cancel_a_pending_change_keeps_the_old_number(petugas_client, petugas):
    old = petugas.phone
    petugas_client.post("/verifikasi/", {"country": "ID", "number": "08123090095"})
    response = petugas_client.post("/verifikasi/batal/")
    assert response["Location"] == "/akun/profil/kontak/"
    assert petugas_client.get("/verifikasi/konfirmasi/")["Location"] == "/verifikasi/"
    petugas.refresh_from_db()
    assert petugas.phone == old and petugas.phone_verified
