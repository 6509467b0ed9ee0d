"""Data Hibah filters and the dashboard's drill-down (issue 14, item 5): status, petugas, fiscal year, jenis,
regency, "Hibah saya" and the LPJ deadlines; they survive pagination and export; every number of the dashboard
is a link to the list it counts; a bad value is ignored with a message, never an error page."""

import datetime
import html as html_lib
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from abah.grants.models import Grant

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db
SEARCH = reverse("grants:search")
S = Grant.Status


def kodes(client, **params):
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    return sorted(g.kode for g in response.context["page"]), response.context["result"].total


def href(page: str, testid: str) -> str:
    match = re.search(r'<a [^>]*href="([^"]*)"[^>]*data-testid="' + testid + '"', page)
    assert match, testid
    return html_lib.unescape(match.group(1))


@pytest.fixture
def spread(petugas, petugas2):
    malang = make_institution("Yayasan Malang", regency="Kota Malang")
    sidoarjo = make_institution("Yayasan Sidoarjo", regency="Kabupaten Sidoarjo")
    return {
        "a": make_grant(malang, petugas=petugas, year=2025, status=S.VERIFIKASI_ADMINISTRASI),
        "b": make_grant(malang, petugas=petugas2, year=2026, status=S.VERIFIKASI_ADMINISTRASI, jenis="BS"),
        "c": make_grant(sidoarjo, petugas=petugas, year=2026, status=S.DITETAPKAN),
        "d": make_grant(sidoarjo, petugas=None, year=2026, status=S.DITETAPKAN, jenis="HM"),
        "e": make_grant(sidoarjo, petugas=petugas, year=2018, status=S.ARSIP),
    }


def test_each_filter_narrows_the_list(petugas_client, petugas, petugas2, spread):
    k = {name: g.kode for name, g in spread.items()}
    assert kodes(petugas_client)[0] == sorted([k["a"], k["b"], k["c"], k["d"]])
    assert kodes(petugas_client, status=S.DITETAPKAN)[0] == sorted([k["c"], k["d"]])
    assert kodes(petugas_client, petugas=petugas2.pk)[0] == [k["b"]]
    assert kodes(petugas_client, tahun=2026)[0] == sorted([k["b"], k["c"], k["d"]])
    assert kodes(petugas_client, jenis="BS")[0] == [k["b"]]
    assert kodes(petugas_client, kabupaten="Kota Malang")[0] == sorted([k["a"], k["b"]])
    assert kodes(petugas_client, saya=1)[0] == sorted([k["a"], k["c"]])
    assert kodes(petugas_client, saya=1, tahun=2026, q="sidoarjo")[0] == [k["c"]]
    assert kodes(petugas_client, status=S.ARSIP)[0] == [k["e"]]  # archived grants: the archive scope


def test_bad_values_are_ignored_with_a_message(petugas_client, spread):
    response = petugas_client.get(SEARCH, {"status": "NOPE", "tahun": "२०२६", "petugas": "99999999999999999999999",
                                           "jenis": "<b>", "kabupaten": "Atlantis", "saya": "maybe", "lpj": "x"})
    assert response.status_code == 200 and response.context["result"].total == 4
    page = response.content.decode()
    assert page.count("diabaikan") == 7 and "&lt;b&gt;" in page and "<b>" not in page.split("<main")[-1]


def test_filters_survive_the_search_box_pagination_and_export(petugas_client, petugas):
    mine, other = make_institution("Yayasan Nurul Huda"), make_institution("Yayasan Nurul Iman")
    for _ in range(23):
        make_grant(mine, petugas=petugas, year=2026)
    for _ in range(5):
        make_grant(other, year=2026)
    make_grant(mine, petugas=petugas, year=2025)
    first = petugas_client.get(SEARCH, {"q": "nurul", "tahun": 2026, "saya": 1}).content.decode()
    assert "dari 1 s/d 20 dari total 23" in first
    second = petugas_client.get(SEARCH + href(first, "page-next") if 'data-testid="page-next"' in first
                                else SEARCH + html_lib.unescape(first.split("Berikutnya")[0].rsplit('href="', 1)[1]
                                                                .split('"')[0])).content.decode()
    assert "dari 21 s/d 23 dari total 23" in second
    export = petugas_client.get(SEARCH + href(first, "export-xlsx"))
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 23
    # the search box keeps the filters (hidden fields) when a new text is searched
    box = first.split('data-testid="search-input"')[1].split("</form>")[0]
    assert 'name="tahun" value="2026"' in box and 'name="saya" value="1"' in box


def test_dashboard_numbers_link_to_the_list_they_count(petugas_client, petugas, petugas2):
    today = datetime.date.today()
    institution = make_institution("Yayasan Nurul Huda")
    for status, n in ((S.VERIFIKASI_ADMINISTRASI, 3), (S.LPJ_TERLAMBAT, 2), (S.DITETAPKAN, 1)):
        for _ in range(n):
            make_grant(institution, petugas=petugas, status=status, year=2026)
    for days in (-40, -3, 5, 20, 45):
        make_grant(institution, petugas=petugas, status=S.LPJ_MENUNGGU, year=2026,
                   lpj_due_date=today + datetime.timedelta(days=days))
    make_grant(institution, petugas=petugas2, status=S.LPJ_TERLAMBAT, year=2026,
               lpj_due_date=today - datetime.timedelta(days=9))  # someone else's: not on this dashboard
    make_grant(institution, petugas=petugas, status=S.ARSIP, year=2018)
    page = petugas_client.get(reverse("core:dashboard")).content.decode()
    section = page.split('data-testid="dashboard-grants"')[1]
    links = re.findall(r'<a [^>]*href="([^"]*)"[^>]*data-testid="(dashboard-[a-z-]+)" data-count="(\d+)"',
                       section)
    assert {testid for _h, testid, _c in links} == {"dashboard-total", "dashboard-status", "dashboard-lpj-soon",
                                                     "dashboard-lpj-overdue"}
    checked = 0
    for url, testid, count in links:
        expected = int(count)
        response = petugas_client.get(html_lib.unescape(url))
        assert response.status_code == 200 and response.context["result"].total == expected, (testid, url)
        checked += 1
    assert checked == 1 + 4 + 2  # the total (11), four statuses, the two LPJ cards
    assert re.search(r'data-testid="dashboard-total" data-count="11"', section)
    overdue = re.search(r'data-testid="dashboard-lpj-overdue" data-count="(\d+)"', section).group(1)
    soon = re.search(r'data-testid="dashboard-lpj-soon" data-count="(\d+)"', section).group(1)
    assert (overdue, soon) == ("2", "2")
