"""The send window ("Jam kirim"): hours, days, holidays, exempt kinds; defaults from the environment, the Admin's
setting in the database; next_send_time across nights, weekends and holidays; the worker holds what must wait."""

from datetime import datetime

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured

from abah.core.formatting import WIB
from abah.sms import conf, services
from abah.sms.backends import locmem
from abah.sms.models import Message, SendWindowSetting

from .conftest import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_hours(settings):
    """08:00-20:00 WIB, Monday to Friday, national holidays off."""
    settings.SMS_SEND_WINDOW = "08:00-20:00"
    settings.SMS_SEND_DAYS = "1-5"
    settings.SMS_SEND_HOLIDAYS = "national"


def at(*args):
    return datetime(*args, tzinfo=WIB)


def test_next_send_time_at_night_is_the_next_morning(office_hours):
    with time_machine.travel(at(2026, 12, 3, 22, 37), tick=False):  # Thursday
        assert conf.next_send_time("invitation") == at(2026, 12, 4, 8, 0)
        assert conf.next_send_time("code") == at(2026, 12, 3, 22, 37)  # exempt: now
        assert not conf.may_send_now("broadcast") and conf.may_send_now("manual")
    with time_machine.travel(at(2026, 12, 3, 6, 15), tick=False):  # early morning: today 08:00
        assert conf.next_send_time("broadcast") == at(2026, 12, 3, 8, 0)


def test_next_send_time_inside_the_window_is_now(office_hours):
    with time_machine.travel(at(2026, 12, 3, 8, 0), tick=False):
        assert conf.next_send_time("broadcast") == at(2026, 12, 3, 8, 0)
    with time_machine.travel(at(2026, 12, 3, 20, 0), tick=False):  # the end is exclusive
        assert conf.next_send_time("broadcast") == at(2026, 12, 4, 8, 0)


def test_next_send_time_skips_the_weekend(office_hours):
    with time_machine.travel(at(2026, 12, 4, 20, 30), tick=False):  # Friday evening
        assert conf.next_send_time("disbursement") == at(2026, 12, 7, 8, 0)  # Monday
    with time_machine.travel(at(2026, 12, 5, 11, 0), tick=False):  # Saturday noon
        assert conf.next_send_time("billing") == at(2026, 12, 7, 8, 0)


def test_next_send_time_skips_national_holidays(office_hours):
    # Thursday 24 December 2026 at night: Friday is Christmas, then the weekend.
    with time_machine.travel(at(2026, 12, 24, 21, 0), tick=False):
        assert conf.send_window().holiday(at(2026, 12, 25, 0, 0).date()) == "Hari Raya Natal"
        assert conf.next_send_time("invitation") == at(2026, 12, 28, 8, 0)
    # Independence Day 2027 is a Tuesday: the texts of Monday night wait until Wednesday.
    with time_machine.travel(at(2027, 8, 16, 22, 0), tick=False):
        assert conf.next_send_time("notification") == at(2027, 8, 18, 8, 0)
    # A moving holiday: Idul Fitri 2027 (10-11 March, Wednesday and Thursday).
    with time_machine.travel(at(2027, 3, 9, 23, 0), tick=False):
        assert conf.next_send_time("broadcast") == at(2027, 3, 12, 8, 0)


def test_other_days_off_and_no_national_holidays(settings):
    settings.SMS_SEND_WINDOW = "07:30-16:00"
    settings.SMS_SEND_DAYS = "mon-sat"
    settings.SMS_SEND_HOLIDAYS = "2026-12-31,2027-01-02"
    with time_machine.travel(at(2026, 12, 30, 16, 0), tick=False):  # Wednesday 16:00
        # 31 December is a day off, 1 January (national) is not counted, 2 January is off, 3 January is Sunday.
        assert conf.next_send_time("broadcast") == at(2027, 1, 1, 7, 30)
        settings.SMS_SEND_HOLIDAYS = "national,2026-12-31,2027-01-02"
        assert conf.next_send_time("broadcast") == at(2027, 1, 4, 7, 30)


def test_environment_defaults(settings, monkeypatch):
    for name in ("SMS_SEND_WINDOW", "SMS_SEND_DAYS", "SMS_SEND_HOLIDAYS", "SMS_SEND_WINDOW_EXEMPT_KINDS"):
        monkeypatch.delattr(settings, name, raising=False)
    monkeypatch.setenv("SMS_SEND_WINDOW", "09:00-17:00")
    monkeypatch.setenv("SMS_SEND_DAYS", "1,2,3,4,5")
    monkeypatch.setenv("SMS_SEND_HOLIDAYS", "none")
    monkeypatch.setenv("SMS_SEND_WINDOW_EXEMPT_KINDS", "code,manual,notification")
    window = conf.send_window(fresh=True)
    assert (conf.format_clock(window.start), conf.format_clock(window.end)) == ("09:00", "17:00")
    assert window.days == (1, 2, 3, 4, 5) and not window.national
    assert window.exempt_kinds == {"code", "manual", "notification"}
    monkeypatch.setenv("SMS_SEND_WINDOW", "20:00-08:00")
    with pytest.raises(ImproperlyConfigured, match="SMS send window"):
        conf.send_window(fresh=True)


def test_the_admin_setting_overrides_the_defaults(office_hours):
    SendWindowSetting.objects.create(start="06:00", end=conf.END_OF_DAY, days="1,2,3,4,5,6,7", exempt_kinds="code",
                                     national_holidays=False, holidays="2026-12-06 Hari jadi")
    with time_machine.travel(at(2026, 12, 5, 23, 30), tick=False):  # Saturday night
        window = conf.send_window(fresh=True)
        assert window.source == "admin" and window.open_at(at(2026, 12, 5, 23, 30))
        assert conf.next_send_time("manual", at(2026, 12, 6, 5, 0)) == at(2026, 12, 7, 6, 0)  # manual not exempt


def test_worker_holds_a_broadcast_outside_the_window_and_sends_an_exempt_code(office_hours):
    with time_machine.travel(at(2026, 8, 17, 10, 0), tick=False):  # Monday 17 August 2026, Independence Day
        broadcast = services.queue_message(to="081230900001", text="Info", kind="broadcast")
        code = services.queue_message(to="081230900002", text="Kode 1234", kind="code")
        run_worker()
        assert [sms.id for sms in locmem.outbox] == [code.pk]
        broadcast.refresh_from_db()
        assert broadcast.status == Message.Status.QUEUED
    with time_machine.travel(at(2026, 8, 18, 8, 0), tick=False):
        conf.clear_send_window_cache()
        run_worker()
        broadcast.refresh_from_db()
        assert broadcast.status == Message.Status.SENT


def test_the_window_is_cached_between_ticks(office_hours, django_assert_num_queries):
    conf.send_window(fresh=True)
    with django_assert_num_queries(0):
        for _ in range(50):
            conf.send_window()


def test_the_worker_builds_the_holidays_as_it_starts_not_on_its_first_claim(office_hours):
    """The first build of the national holidays takes about a second: a worker pays it before its first text."""
    from abah.sms.daemon import Daemon

    conf.national_holidays.cache_clear()
    with time_machine.travel(at(2026, 12, 7, 10, 0), tick=False):
        conf.clear_send_window_cache()
        daemon = Daemon(batch_size=10, interval=0)
        built = conf.national_holidays.cache_info()
        assert built.currsize == 2  # this year and the next
        services.queue_message(to="081230900001", text="Info", kind="broadcast")
        assert len(daemon.claim()) == 1
        assert conf.national_holidays.cache_info().misses == built.misses  # nothing built on the claim


def test_the_web_server_builds_the_holidays_as_it_starts(office_hours, settings):
    import importlib
    import sys

    settings.SECRET_KEY_MISSING = False  # the test settings have no key of their own; config.wsgi refuses that
    conf.national_holidays.cache_clear()
    sys.modules.pop("config.wsgi", None)
    importlib.import_module("config.wsgi")
    assert conf.national_holidays.cache_info().currsize == 2


def test_no_holidays_built_when_the_window_does_not_count_them(settings):
    settings.SMS_SEND_HOLIDAYS = "none"
    conf.national_holidays.cache_clear()
    conf.clear_send_window_cache()
    conf.warm_calendar()
    assert conf.national_holidays.cache_info().currsize == 0
