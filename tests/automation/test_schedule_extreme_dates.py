"""Issue 13, finding 4: a due date stored at the calendar's ends (before the forms refused them) makes no error in
the LPJ reminder schedule: steps that would fall outside the calendar do not exist."""

import datetime

import pytest

from abah.automation import reminders

TODAY = datetime.date(2026, 12, 2)


@pytest.mark.parametrize("due", [datetime.date(9999, 12, 31), datetime.date(9999, 12, 25), datetime.date(1, 1, 1),
                                 datetime.date(1, 1, 20), datetime.date.max, datetime.date.min])
def test_schedule_and_current_step_do_not_overflow(due):
    steps = reminders.schedule(due, TODAY, days=(30, 7, 1), every=7)
    assert all(datetime.date.min <= s.date <= datetime.date.max for s in steps)
    assert len(steps) <= 3 + 520
    reminders.current_step(due, TODAY, days=(30, 7, 1), every=7)  # no OverflowError


def test_a_far_due_date_keeps_its_reminders_before_it():
    steps = reminders.schedule(datetime.date(9999, 12, 31), TODAY, days=(30, 7, 1), every=7)
    assert [s.key for s in steps] == ["h30", "h7", "h1"]  # no overdue step after 31 December 9999
    assert reminders.current_step(datetime.date(9999, 12, 31), datetime.date(9999, 12, 30), (30, 7, 1), 7).key == "h1"


def test_an_ancient_due_date_is_overdue_without_error():
    step = reminders.current_step(datetime.date(1, 1, 1), TODAY, days=(30, 7, 1), every=7)
    assert step.overdue and step.date <= TODAY
    steps = reminders.schedule(datetime.date(1, 1, 1), TODAY, days=(30, 7, 1), every=7)
    assert [s.key for s in steps if not s.overdue] == []  # H-30 of 1 January 0001 is before the calendar


def test_ordinary_dates_are_unchanged():
    due = datetime.date(2026, 12, 10)
    steps = reminders.schedule(due, TODAY, days=(30, 7, 1), every=7)
    assert [(s.key, s.date) for s in steps] == [
        ("h30", datetime.date(2026, 11, 10)), ("h7", datetime.date(2026, 12, 3)), ("h1", datetime.date(2026, 12, 9)),
        ("late1", datetime.date(2026, 12, 11))]
