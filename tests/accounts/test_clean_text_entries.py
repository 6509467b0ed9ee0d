"""Clean text at every entry of the accounts app: registration, login, profile, password forms, the user list.

Before the forms cleaned their text, a NUL was refused by Django's generic validator (the registration, the
profile and the login failed for a stray character) and reached PostgreSQL wherever a form did not refuse it.
"""

import pytest
from django.urls import reverse

from abah.accounts.models import User
from tests import cleantext
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_registration_stores_cleaned_names(client):
    response = cleantext.post(client, reverse("accounts:register"), {
        "username": cleantext.nasty("calon", surrogate=False), "email": "calon@example.test",
        "first_name": cleantext.nasty("Nur Hidayat"), "last_name": cleantext.nasty("Petugas\u2028Baru"),
        "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    user = User.objects.get(username="calon")
    assert user.first_name == cleantext.cleaned("Nur Hidayat")
    assert user.last_name == cleantext.cleaned("Petugas\nBaru")


def test_login_with_a_nul_in_the_username(client, petugas):
    response = cleantext.post(client, reverse("accounts:login"), {
        "username": cleantext.nasty(petugas.username, surrogate=False), "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(petugas.pk)


def test_login_with_only_garbage_is_a_form_error(client, petugas):
    response = cleantext.post(client, reverse("accounts:login"), {
        "username": b"\x00" + cleantext.SURROGATE_BYTES, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_profile_stores_cleaned_text(petugas_client, petugas):
    response = cleantext.post(petugas_client, reverse("accounts:profile"), {
        "username": petugas.username, "email": cleantext.nasty("baru@example.test", surrogate=False),
        "first_name": cleantext.nasty("Budi"), "last_name": "S", "birth_date": "1985-04-12", "gender": "L"})
    assert response.status_code == 302
    petugas.refresh_from_db()
    assert (petugas.email, petugas.first_name) == ("baru@example.test", cleantext.cleaned("Budi"))


def test_profile_field_of_only_nul_is_a_translated_error_and_changes_nothing(petugas_client, petugas):
    before = petugas.first_name
    response = cleantext.post(petugas_client, reverse("accounts:profile"), {
        "username": petugas.username, "email": petugas.email, "first_name": "\x00\x01",
        "last_name": "S", "birth_date": "1985-04-12", "gender": "L"})
    assert response.status_code == 200
    assert "tidak boleh kosong" in response.content.decode()
    petugas.refresh_from_db()
    assert petugas.first_name == before


def test_password_reset_with_a_nul_in_the_address(client, petugas, mailoutbox):
    response = cleantext.post(client, reverse("accounts:password_reset"),
                              {"email": cleantext.nasty(petugas.email, surrogate=False)})
    assert response.status_code == 302
    assert len(mailoutbox) == 1


def test_password_is_kept_as_typed_and_a_nul_in_it_is_refused(petugas_client, petugas):
    """Passwords are never stored as text: the forms leave them alone (a NUL is refused by Django's own
    translated error, and nothing changes)."""
    response = cleantext.post(petugas_client, reverse("accounts:profile_password"), {
        "old_password": PASSWORD, "new_password1": "Sandi\x00Baru-9876", "new_password2": "Sandi\x00Baru-9876"})
    assert response.status_code == 200
    petugas.refresh_from_db()
    assert petugas.check_password(PASSWORD)


def test_password_change_form_cleans_nothing_else_and_works(petugas_client, petugas):
    response = cleantext.post(petugas_client, reverse("accounts:profile_password"), {
        "old_password": PASSWORD, "new_password1": "Sandi-Baru-9876", "new_password2": "Sandi-Baru-9876"})
    assert response.status_code == 302
    petugas.refresh_from_db()
    assert petugas.check_password("Sandi-Baru-9876")


def test_user_list_search_with_a_nul(admin_client, petugas):
    url = cleantext.query(reverse("accounts:user_list"), {"state": "all", "q": cleantext.nasty("petugasa",
                                                                                                 surrogate=False)})
    response = admin_client.get(url)
    assert response.status_code == 200
    assert petugas.email in response.content.decode()
    response = admin_client.get(cleantext.query(reverse("accounts:user_list"),
                                                {"state": "all", "q": cleantext.SURROGATE_BYTES}))
    assert response.status_code == 200
