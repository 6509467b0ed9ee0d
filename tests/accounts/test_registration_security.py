"""Registration refuses hostile use (issue 13, finding 8) and the login error reads well (finding 9):

- the page answers the same whether or not the username or the e-mail address exists; the person learns which by
  e-mail (the owner of an existing address is told someone tried to register with it);
- a throttle per client address and one for the whole site, with a clear Indonesian message (HTTP 429);
- usernames NFKC-normalised, and refused when they look like an existing one (Cyrillic "аdmin" for "admin").
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from abah.accounts.models import User
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def register(client, username, email, **extra):
    return client.post(
        reverse("accounts:register"),
        {"username": username, "email": email, "first_name": "Calon", "last_name": "Petugas",
         "password1": PASSWORD, "password2": PASSWORD},
        **extra,
    )


def page_text(response, *variable):
    """The page without what differs on every request (CSRF token, CSP nonce) or was typed (the address)."""
    text = response.content.decode()
    text = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1", text)
    text = re.sub(r'("X-CSRFToken": ")[^"]+', r"\1", text)
    text = re.sub(r'nonce="[^"]+"', 'nonce=""', text)
    for value in variable:
        text = text.replace(value, "…")
    return text


# ---------------------------------------------------------------- no account enumeration


def test_same_answer_whether_or_not_the_name_or_the_address_exists(client, mailoutbox):
    owner = make_user("sitiaminah", email="siti@example.test")
    new = register(client, "budisantoso", "budi@example.test")
    taken_name = register(Client(), owner.username, "lain@example.test")
    taken_email = register(Client(), "orangbaru", "SITI@example.test")

    assert new.status_code == taken_name.status_code == taken_email.status_code == 200
    expected = page_text(new, "budi@example.test")
    assert page_text(taken_name, "lain@example.test") == expected
    assert page_text(taken_email, "siti@example.test") == expected
    for response in (taken_name, taken_email):
        content = response.content.decode().lower()
        assert "sudah ada" not in content and "already exists" not in content and "sudah dipakai" not in content

    assert set(User.objects.values_list("username", flat=True)) == {"sitiaminah", "budisantoso"}
    # Each of the three got one e-mail, at the address typed: the new account's confirmation, the "choose another
    # username" note, and the warning to the owner of the existing address.
    assert [m.to for m in mailoutbox] == [["budi@example.test"], ["lain@example.test"], ["siti@example.test"]]
    received, name_taken, address_taken = mailoutbox
    assert "diterima" in received.subject
    assert "nama pengguna lain" in name_taken.subject and '"sitiaminah"' in name_taken.body
    assert "mencoba mendaftar" in address_taken.subject
    assert "/akun/sandi/reset/" in address_taken.body
    # The owner's account is untouched.
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD) and owner.first_name == "Sitiaminah"


def test_a_duplicate_username_in_another_case_is_refused_silently(client, mailoutbox):
    make_user("Rahmat")
    response = register(client, "rahmat", "rahmat2@example.test")
    assert response.status_code == 200
    assert User.objects.filter(username__iexact="rahmat").count() == 1
    assert "nama pengguna lain" in mailoutbox[-1].subject


# ---------------------------------------------------------------- throttle


def test_throttled_per_client_address(settings, mailoutbox):
    settings.REGISTRATION_LIMIT_PER_ADDRESS = (3, 3600)
    settings.REGISTRATION_LIMIT_GLOBAL = (100, 3600)
    for n in range(3):
        assert register(Client(), f"calon{n}", f"calon{n}@example.test").status_code == 200
    refused = register(Client(), "calon9", "calon9@example.test")
    assert refused.status_code == 429
    assert "Terlalu banyak pendaftaran dari alamat anda" in refused.content.decode()
    assert not User.objects.filter(username="calon9").exists()
    assert len(mailoutbox) == 3
    # Another address is not affected.
    other = register(Client(), "calon9", "calon9@example.test", REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 200 and User.objects.filter(username="calon9").exists()


def test_throttled_for_the_whole_site(settings):
    settings.REGISTRATION_LIMIT_PER_ADDRESS = (100, 3600)
    settings.REGISTRATION_LIMIT_GLOBAL = (4, 3600)
    for n in range(4):
        response = register(Client(), f"massal{n}", f"massal{n}@example.test", REMOTE_ADDR=f"10.0.0.{n + 1}")
        assert response.status_code == 200
    refused = register(Client(), "massal9", "massal9@example.test", REMOTE_ADDR="10.0.0.99")
    assert refused.status_code == 429
    assert "Terlalu banyak pendaftaran saat ini" in refused.content.decode()
    assert User.objects.filter(username__startswith="massal").count() == 4


def test_default_limits_stop_a_burst_of_twenty():
    """The finding: 20 accounts in 6 seconds from one address. With the default limits most are refused."""
    answers = [register(Client(), f"bot{n}", f"bot{n}@example.test").status_code for n in range(20)]
    assert answers.count(429) >= 15
    assert User.objects.filter(username__startswith="bot").count() <= 5


def test_an_invalid_form_is_not_counted(settings):
    settings.REGISTRATION_LIMIT_PER_ADDRESS = (1, 3600)
    for _ in range(3):
        response = Client().post(reverse("accounts:register"), {"username": "x", "email": "bukan-email"})
        assert response.status_code == 200
    assert register(Client(), "sabar", "sabar@example.test").status_code == 200
    assert User.objects.filter(username="sabar").exists()


# ---------------------------------------------------------------- look-alike usernames


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0430dmin",  # Cyrillic а
        "adm\u0456n",  # Cyrillic і
        "\u0391DMIN",  # Greek Α, upper case
        "ADMIN",
        "\uff41\uff44\uff4d\uff49\uff4e",  # full-width, NFKC gives "admin"
        "a\u0301dmin",  # a + combining acute
        "adm1n",
        "\u0430\u0501m\u0456n",  # Cyrillic а, ԁ, і
    ],
)
def test_lookalike_of_an_existing_username_is_refused(client, mailoutbox, lookalike):
    make_user("admin", role="admin")
    before = User.objects.count()
    response = register(client, lookalike, "penyusup@example.test")
    assert response.status_code == 200
    assert User.objects.count() == before
    assert "nama pengguna lain" in mailoutbox[-1].subject


def test_skeleton_maps_cyrillic_and_greek_lookalikes_and_keeps_different_names_apart():
    from abah.accounts.registration import skeleton

    assert skeleton("\u0430dmin") == skeleton("admin") == skeleton("ADMIN") == skeleton("\u03b1dm\u03b9n")
    assert skeleton("\u0440\u0435tug\u0430s") == skeleton("petugas")
    assert skeleton("budi") != skeleton("bude")
    assert skeleton("siti") != skeleton("sita")


def test_usernames_are_nfkc_normalised(client):
    register(client, "\ufb01tri", "fitri@example.test")  # "ﬁ" ligature
    assert User.objects.filter(username="fitri").exists()


def test_a_new_distinct_username_is_accepted(client, mailoutbox):
    make_user("admin", role="admin")
    register(client, "administrasi", "adm@example.test")
    assert User.objects.filter(username="administrasi", is_active=False).exists()
    assert "diterima" in mailoutbox[-1].subject


# ---------------------------------------------------------------- login error wording


def test_login_error_names_each_field_once_in_indonesian(client):
    make_user("petugasx")
    response = client.post(reverse("accounts:login"), {"username": "petugasx", "password": "salah-sekali"})
    content = response.content.decode()
    assert "Nama pengguna atau sandi salah." in content
    assert "nama pengguna nama pengguna" not in content.lower()
    assert "Masukkan nama pengguna" not in content


def test_login_error_in_english(client):
    make_user("petugasx")
    client.post(reverse("core:set_language"), {"language": "en", "next": "/akun/masuk/"})
    response = client.post(reverse("accounts:login"), {"username": "petugasx", "password": "salah-sekali"})
    content = response.content.decode()
    assert "The username or password is incorrect." in content
    assert "username username" not in content.lower()


@pytest.mark.parametrize("lookalike", ["\u0430dminuser", "ADMINUSER", "adm1nuser"])
def test_profile_rename_to_a_lookalike_of_another_account_is_refused(petugas_client, petugas, admin_user, lookalike):
    response = petugas_client.post(reverse("accounts:profile"), {
        "username": lookalike, "email": petugas.email, "first_name": "Budi", "last_name": "S",
        "birth_date": "1985-04-12", "gender": "L",
    })
    assert response.status_code == 200
    assert "terlalu mirip" in response.content.decode()
    petugas.refresh_from_db()
    assert petugas.username == "petugasa"


def test_profile_keeps_its_own_username_and_may_take_a_distinct_one(petugas_client, petugas, admin_user):
    data = {"email": petugas.email, "first_name": "Budi", "last_name": "S", "birth_date": "1985-04-12", "gender": "L"}
    assert petugas_client.post(reverse("accounts:profile"), {"username": "petugasa", **data}).status_code == 302
    assert petugas_client.post(reverse("accounts:profile"), {"username": "budisantoso", **data}).status_code == 302
    petugas.refresh_from_db()
    assert petugas.username == "budisantoso"
