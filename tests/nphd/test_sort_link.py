"""The Undangan NPHD list's "Tanggal" sort link is followed as a browser would: its href is a query string
that the list reads (it used to be "??o=date", which the list ignored on the first click)."""

import datetime
import html
import re
from pathlib import Path

import pytest
from django.urls import reverse

from .conftest import invite, make_grant, make_institution

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def sort_href(page: str) -> str:
    match = re.search(r'<a href="([^"]*)"[^>]*data-testid="sort-date"', page)
    assert match, "no sort link"
    return html.unescape(match.group(1))


def test_first_click_on_tanggal_sorts_oldest_first_and_second_click_back(grant_a, petugas, petugas2,
                                                                        admin_client, future):
    near = invite(grant_a, petugas, future).appointment
    other = make_grant(make_institution("Gereja Bethesda", phone="081230900082"), petugas=petugas2)
    far = invite(other, petugas2, future + datetime.timedelta(days=5)).appointment
    url = reverse("nphd:appointment_list")
    first = admin_client.get(url)
    assert [a.pk for a in first.context["page"]] == [far.pk, near.pk]
    href = sort_href(first.content.decode())
    assert href.startswith("?") and not href.startswith("??"), href
    clicked = admin_client.get(url + href)
    assert [a.pk for a in clicked.context["page"]] == [near.pk, far.pk]
    back = admin_client.get(url + sort_href(clicked.content.decode()))
    assert [a.pk for a in back.context["page"]] == [far.pk, near.pk]


def test_no_template_puts_a_question_mark_before_querystring():
    """{% querystring %} writes its own leading "?": a template that adds one makes a "??" link."""
    offenders = []
    for path in [*ROOT.glob("abah/**/templates/**/*.html"), *ROOT.glob("templates/**/*.html")]:
        text = path.read_text(encoding="utf-8")
        if re.search(r"\?\s*\{%\s*(if\b[^%]*%\}\s*\{%\s*)?querystring", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
