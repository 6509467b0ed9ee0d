"""The grant page shows the LPJ reminders (sent and upcoming) and lets the petugas pause them."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from abah.automation import reminders
from abah.automation.models import ReminderPause
from abah.grants.models import Grant

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db

DUE = datetime.date(2019, 1, 10)
WIB = datetime.timezone(datetime.timedelta(hours=7))


@pytest.fixture
def owing(petugas):
    return make_grant(make_institution(), status=Grant.Status.LPJ_MENUNGGU, petugas=petugas, lpj_due_date=DUE)


def test_panel_lists_sent_and_upcoming_reminders(owing, petugas_client):
    with time_machine.travel(datetime.datetime(2019, 1, 3, 10, tzinfo=WIB), tick=False):
        reminders.run()
        body = petugas_client.get(reverse("grants:grant_detail", args=[owing.pk])).content.decode()
    assert 'data-testid="lpj-reminders"' in body
    assert 'data-testid="reminder-h7" data-state="sent"' in body
    assert 'data-testid="reminder-sent-at"' in body and "WIB" in body  # when it was queued, in WIB
    assert 'data-testid="reminder-h1" data-state="upcoming"' in body
    assert "9 Januari 2019" in body  # H-1
    assert 'data-testid="reminders-pause"' in body


def test_pause_and_resume(owing, petugas_client):
    url = reverse("automation:reminder_pause", args=[owing.pk])
    response = petugas_client.post(url, {"paused": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'data-testid="reminders-paused"' in response.content.decode()
    assert ReminderPause.objects.filter(grant=owing).exists()
    assert reminders.run(today=DUE - datetime.timedelta(days=1)).checked == 0
    response = petugas_client.post(url, {"paused": "0"})
    assert response.status_code == 302
    assert not ReminderPause.objects.exists()
    assert owing.activities.filter(action="lpj_reminders").count() == 2


def test_only_the_assigned_petugas_or_an_admin_may_pause(owing, client, petugas2, admin_user):
    client.force_login(petugas2)
    url = reverse("automation:reminder_pause", args=[owing.pk])
    assert client.post(url, {"paused": "1"}).status_code == 403
    assert not ReminderPause.objects.exists()
    body = client.get(reverse("grants:grant_detail", args=[owing.pk])).content.decode()
    assert 'data-testid="lpj-reminders"' in body and 'data-testid="reminders-pause"' not in body
    client.force_login(admin_user)
    assert client.post(url, {"paused": "1"}).status_code == 302
    assert ReminderPause.objects.filter(grant=owing).exists()


def test_no_panel_without_a_due_date(petugas_client, petugas):
    grant = make_grant(make_institution(), petugas=petugas)
    body = petugas_client.get(reverse("grants:grant_detail", args=[grant.pk])).content.decode()
    assert 'data-testid="lpj-reminders"' not in body


def test_years_overdue_list_only_the_latest_steps(owing, petugas_client):
    today = DUE + datetime.timedelta(days=365 * 3)
    for weeks in range(0, 20):
        reminders.run(today=today - datetime.timedelta(days=7 * (20 - weeks)))
    rows = reminders.grant_schedule(owing, today=today)
    assert [r.step.key for r in rows][:3] == ["h30", "h7", "h1"]
    overdue = [r for r in rows if r.step.overdue]
    assert [r.state for r in overdue] == ["sent"] * reminders.SHOWN_OVERDUE + ["due", "upcoming"]
    assert reminders.hidden_overdue(rows, owing, today) == 158 - len(overdue)  # 157 steps so far + the next
    with time_machine.travel(datetime.datetime(today.year, today.month, today.day, 10, tzinfo=WIB), tick=False):
        body = petugas_client.get(reverse("grants:grant_detail", args=[owing.pk])).content.decode()
    assert body.count('data-testid="reminder-late') == len(overdue)
    assert 'data-testid="reminders-hidden"' in body


def test_panel_warns_when_the_institution_has_no_contact(petugas_client, petugas):
    grant = make_grant(make_institution("Tanpa Kontak", phone=""), status=Grant.Status.LPJ_MENUNGGU,
                       petugas=petugas, lpj_due_date=DUE)
    body = petugas_client.get(reverse("grants:grant_detail", args=[grant.pk])).content.decode()
    assert 'data-testid="reminders-no-contact"' in body
