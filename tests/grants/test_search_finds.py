"""Search that finds (issue 14, item 4): code and DPA prefixes, words in any order, punctuation, case and
diacritics ignored, best matches first; the normalised key follows saves and is written for existing rows."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.urls import reverse

from abah.grants.models import Grant, Institution
from abah.grants.search import search, search_key

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db
SEARCH = reverse("grants:search")


def found(q, scope="aktif"):
    return [g.kode for g in search(q, scope).queryset]


def names(q):
    return [g.institution.name for g in search(q).queryset]


def test_search_key_drops_case_punctuation_and_diacritics():
    assert search_key("Masjid Jami' Al-Ikhlas") == "masjid jami al ikhlas"
    assert search_key("  PONDOK  Ṣalāḥuddīn (Krajan) ") == "pondok salahuddin krajan"
    assert make_institution("Musholla Al-Ikhlas").name_search == "musholla al ikhlas"


def test_code_prefix_and_a_number_typed_without_its_zeros(petugas):
    ikhlas = make_institution("Masjid Al-Ikhlas")
    grants = {g.kode: g for g in (make_grant(ikhlas, year=2026, jenis=jenis) for jenis in ["HK"] * 12 + ["BS"])}
    assert "2026-HK-00005" in grants and "2026-HK-00010" in grants
    hk = found("2026-HK")
    assert sorted(hk) == sorted(k for k in grants if k.startswith("2026-HK"))
    assert found("2026-hk-0000") == sorted(k for k in grants if k.startswith("2026-HK-0000"))
    # "2026-HK-0005" is kode 2026-HK-00005 (the best match), not a prefix matching nothing
    assert found("2026-HK-0005") == ["2026-HK-00005"]
    assert found("2026-HK-0001") == ["2026-HK-00001", "2026-HK-00010", "2026-HK-00011", "2026-HK-00012"]
    assert found("2026-HK-001") == ["2026-HK-00001"]  # no kode starts 2026-HK-001…; the number 1 does
    assert found("2026-B") == ["2026-BS-00001"]


def test_code_prefix_on_the_page_lists_instead_of_redirecting(petugas_client, petugas):
    institution = make_institution("Masjid Al-Ikhlas")
    for _ in range(6):
        make_grant(institution, year=2026)
    response = petugas_client.get(SEARCH, {"q": "2026-HK-0005"})
    assert response.status_code == 200
    assert [g.kode for g in response.context["page"]] == ["2026-HK-00005"]
    assert petugas_client.get(SEARCH, {"q": "2026-HK-00005"}).status_code == 302  # a whole kode opens it
    assert len(petugas_client.get(SEARCH, {"q": "2026-HK"}).context["page"]) == 6


def test_dpa_prefix(petugas):
    a = make_grant(make_institution("Yayasan A"), dpa_number="5435260500000001")
    b = make_grant(make_institution("Yayasan B"), dpa_number="5435260500000002")
    make_grant(make_institution("Yayasan C"), dpa_number="5435250500000003")
    assert sorted(found("54352605")) == sorted([a.kode, b.kode])
    assert found("5435260500000002") == [b.kode]


def test_words_in_any_order_with_or_without_punctuation(petugas):
    make_grant(make_institution("Pondok Hidayatul Ulum Krajan"))
    make_grant(make_institution("Masjid Al-Ikhlas"))
    make_grant(make_institution("Yayasan Ṣalāḥuddīn"))
    make_grant(make_institution("Hidayatul Mubtadiin Sukorejo"))
    assert names("Hidayatul Krajan") == ["Pondok Hidayatul Ulum Krajan"]
    assert names("krajan HIDAYATUL") == ["Pondok Hidayatul Ulum Krajan"]
    assert names("Al Ikhlas") == ["Masjid Al-Ikhlas"]
    assert names("al-ikhlas") == ["Masjid Al-Ikhlas"]
    assert names("salahuddin") == ["Yayasan Ṣalāḥuddīn"]
    assert names("ṢALĀḤ") == ["Yayasan Ṣalāḥuddīn"]
    assert names("hidayatul ulum krajan pondok") == ["Pondok Hidayatul Ulum Krajan"]
    assert names("hidayatul xyz") == []


def test_on_the_page(petugas_client):
    make_grant(make_institution("Pondok Hidayatul Ulum Krajan"))
    make_grant(make_institution("Masjid Al-Ikhlas"))
    for q, name in (("Hidayatul Krajan", "Pondok Hidayatul Ulum Krajan"), ("Al Ikhlas", "Masjid Al-Ikhlas")):
        page = petugas_client.get(SEARCH, {"q": q}).context["page"]
        assert [g.institution.name for g in page] == [name]


def test_best_matches_first(petugas):
    # words anywhere (rank 3), whole words (rank 2), each sorted by name; a kode beats any name
    make_grant(make_institution("Masjid Al-Ikhlasiyah"))
    make_grant(make_institution("Yayasan Al Ikhlas"))
    make_grant(make_institution("Al-Ikhlas Baru"))
    make_grant(make_institution("Musholla Nurul Ikhlasul Amal"))
    assert names("al ikhlas") == ["Al-Ikhlas Baru", "Yayasan Al Ikhlas", "Masjid Al-Ikhlasiyah"]
    assert names("ikhlas") == ["Al-Ikhlas Baru", "Yayasan Al Ikhlas", "Masjid Al-Ikhlasiyah",
                               "Musholla Nurul Ikhlasul Amal"]
    zeta = make_institution("Zeta")
    exact = make_grant(zeta, year=2026)  # 2026-HK-00001
    for _ in range(9):
        make_grant(make_institution("Alfa"), year=2026)
    ranked = found("2026-HK-0001")
    assert ranked[0] == exact.kode and ranked[1:] == ["2026-HK-00010"]  # exact code first, then by name


def test_search_key_follows_renames_and_the_migration_rewrites_old_rows(admin_user):
    from abah.grants import services

    institution = make_institution("Panti Asuhan Melati")
    services.institution_update(institution=institution, by=admin_user, name="Panti Asuhan Al-Mawar")
    institution.refresh_from_db()
    assert institution.name_search == "panti asuhan al mawar"
    # rows written before the search key (lowercase names) are rewritten by migration 0004
    Institution.objects.filter(pk=institution.pk).update(name_search="panti asuhan al-mawar")
    migration = importlib.import_module("abah.grants.migrations.0004_search_key")
    migration._rekey(migration._search_key)(django_apps, SimpleNamespace(connection=connection))
    institution.refresh_from_db()
    assert institution.name_search == "panti asuhan al mawar"
    make_grant(institution)
    assert names("mawar al") == ["Panti Asuhan Al-Mawar"]
    assert Grant.objects.count() == 1
