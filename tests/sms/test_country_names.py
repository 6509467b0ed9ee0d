"""The phone country selector names countries from CLDR (Babel), in the active language, Indonesia first."""

import pytest
from django.urls import reverse

from abah.sms import phone


def _labels(language):
    return dict(phone.country_choices(language))


def test_indonesian_names_from_cldr():
    labels = _labels("id")
    assert labels["ID"] == "Indonesia (+62)"
    assert labels["NL"] == "Belanda (+31)"
    assert labels["MP"] == "Kepulauan Mariana Utara (+1)"  # not phonenumbers' "Kepualuan"
    assert labels["IM"] == "Pulau Man (+44)"
    assert labels["AC"] == "Pulau Ascension (+247)"  # a region phonenumbers' geodata has no name for
    assert "Kepualuan" not in " ".join(labels.values())


def test_english_names_from_cldr():
    labels = _labels("en")
    assert labels["NL"] == "Netherlands (+31)"
    assert labels["IM"] == "Isle of Man (+44)"
    assert labels["AC"] == "Ascension Island (+247)"
    assert labels["DE"] == "Germany (+49)"


@pytest.mark.parametrize("language", ["id", "en", "en-us", "id-id"])
def test_every_region_has_a_name_and_indonesia_leads(language):
    choices = phone.country_choices(language)
    assert choices[0] == ("ID", "Indonesia (+62)")
    for region, label in choices:
        name = label.rsplit(" (+", 1)[0]
        assert name != region, f"{region} has no name"


def test_sorted_by_localised_name_ignoring_accents_and_case():
    import unicodedata

    def key(label):
        return "".join(c for c in unicodedata.normalize("NFKD", label) if not unicodedata.combining(c)).casefold()

    for language in ("id", "en"):
        names = [label.rsplit(" (+", 1)[0] for _, label in phone.country_choices(language)[1:]]
        assert names == sorted(names, key=key)
    english = [label for _, label in phone.country_choices("en")]
    assert english.index("Åland Islands (+358)") < english.index("Albania (+355)")  # Å sorts as A


@pytest.mark.django_db
def test_verification_page_shows_country_names_in_the_active_language(client, petugas):
    petugas.phone = ""
    petugas.phone_verified_at = None
    petugas.save()
    client.force_login(petugas)
    url = reverse("verification:contact")
    body = client.get(url).content.decode()
    assert "Belanda (+31)" in body and "Pulau Ascension (+247)" in body
    assert "Netherlands" not in body and "AC (+247)" not in body
    client.cookies["abah_language"] = "en"
    body = client.get(url).content.decode()
    assert "Netherlands (+31)" in body and "Ascension Island (+247)" in body
    assert "Belanda" not in body
