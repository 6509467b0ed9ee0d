"""LPJ billing: one reminder per step (H-30, H-7, H-1, then weekly once overdue), none after the LPJ is received."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from abah.automation import bulk, reminders
from abah.automation.models import ReminderPause
from abah.grants import services as grant_services
from abah.grants.messaging import institution_conversation
from abah.grants.models import Grant
from abah.notifications.models import Notification
from abah.sms.models import Message

from .conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db

DUE = datetime.date(2019, 1, 10)


def at(day: datetime.date, hour=9):
    """time-machine destination: that day at `hour` WIB."""
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=datetime.timezone(datetime.timedelta(hours=7)))


@pytest.fixture
def owing(petugas):
    return make_grant(make_institution(), status=Grant.Status.LPJ_MENUNGGU, petugas=petugas, lpj_due_date=DUE,
                      amount_approved=Decimal("400000000"))


def billing():
    return list(Message.objects.filter(kind="billing").order_by("id"))


def run_on(day):
    with time_machine.travel(at(day), tick=False):
        call_command("lpj_reminders", "--once", verbosity=0)


def test_current_step_rules():
    step = reminders.current_step
    assert step(DUE, DUE - datetime.timedelta(days=31)) is None
    assert step(DUE, DUE - datetime.timedelta(days=30)).key == "h30"
    assert step(DUE, DUE - datetime.timedelta(days=8)).key == "h30"
    assert step(DUE, DUE - datetime.timedelta(days=7)).key == "h7"
    assert step(DUE, DUE - datetime.timedelta(days=1)).key == "h1"
    assert step(DUE, DUE).key == "h1"
    assert step(DUE, DUE + datetime.timedelta(days=1)).key == "late1"
    assert step(DUE, DUE + datetime.timedelta(days=7)).key == "late1"
    assert step(DUE, DUE + datetime.timedelta(days=8)).key == "late2"
    assert step(DUE, DUE + datetime.timedelta(days=15)).key == "late3"
    assert step(DUE, DUE - datetime.timedelta(days=3), days=(14, 3)).key == "h3"


def test_moving_the_clock_sends_exactly_one_reminder_per_step(owing, petugas):
    days = [DUE - datetime.timedelta(days=d) for d in (45, 31, 30, 29, 20, 8, 7, 6, 2, 1, 0)]
    days += [DUE + datetime.timedelta(days=d) for d in (1, 2, 7, 8, 9, 14, 15)]
    seen = []
    for day in days:
        run_on(day)
        run_on(day)  # a second run the same day (or a second worker) changes nothing
        seen.append((day, [m.meta["lpj_step"] for m in billing()]))
    steps = [m.meta["lpj_step"] for m in billing()]
    assert steps == ["h30", "h7", "h1", "late1", "late2", "late3"]
    first_day = {step: next(day for day, sent in seen if step in sent) for step in steps}
    assert first_day == {"h30": DUE - datetime.timedelta(days=30), "h7": DUE - datetime.timedelta(days=7),
                         "h1": DUE - datetime.timedelta(days=1), "late1": DUE + datetime.timedelta(days=1),
                         "late2": DUE + datetime.timedelta(days=8), "late3": DUE + datetime.timedelta(days=15)}
    h30, late1 = billing()[0], billing()[3]
    assert h30.text == ("Yth. Pimpinan Yayasan Nurul Huda, LPJ hibah TA 2018 (Rp400.000.000,00) wajib diterima "
                        "Biro Kesra paling lambat 10 Januari 2019. Abaikan jika sudah menyampaikan. Biro Kesra Jatim")
    assert late1.text.startswith("Yth. Pimpinan Yayasan Nurul Huda, LPJ hibah TA 2018 belum kami terima "
                                 "(batas 10 Januari 2019)")
    assert h30.meta["template_kind"] == "lpj_billing" and late1.meta["template_kind"] == "lpj_overdue"
    assert h30.idempotency_key == f"lpj:{owing.pk}:2019-01-10:h30"
    assert all(m.conversation_id == institution_conversation(owing.institution).pk for m in billing())
    assert all(m.kind == "billing" and m.priority == 50 for m in billing())
    owing.refresh_from_db()
    assert owing.status == Grant.Status.LPJ_TERLAMBAT  # the same pass marks it overdue
    assert Notification.objects.filter(user=petugas, kind="billing_sent").exists()
    # Recorded as messages (the grant page lists them), not copied into the grant's Log.
    assert not owing.activities.filter(action="sms_queued").exists()


def test_nothing_after_the_lpj_is_received(owing, petugas):
    run_on(DUE + datetime.timedelta(days=1))
    assert len(billing()) == 1
    owing.refresh_from_db()
    grant_services.lpj_receive(grant=owing, received_on=DUE + datetime.timedelta(days=2), by=petugas)
    for d in (8, 15, 22):
        run_on(DUE + datetime.timedelta(days=d))
    assert len(billing()) == 1


def test_nothing_for_archived_or_not_yet_disbursed_or_paused_grants(petugas):
    archived = make_grant(make_institution("Masjid Arsip", phone="081230900096"), status=Grant.Status.ARSIP,
                          petugas=petugas, lpj_due_date=DUE)
    signed = make_grant(make_institution("Masjid Baru", phone="081230900097"),
                        status=Grant.Status.NPHD_DITANDATANGANI, petugas=petugas, lpj_due_date=DUE)
    paused = make_grant(make_institution("Masjid Jeda", phone="081230900098"), status=Grant.Status.LPJ_MENUNGGU,
                        petugas=petugas, lpj_due_date=DUE)
    reminders.pause_set(grant=paused, paused=True, by=petugas)
    run_on(DUE - datetime.timedelta(days=1))
    assert billing() == []
    reminders.pause_set(grant=paused, paused=False, by=petugas)
    assert not ReminderPause.objects.exists()
    run_on(DUE - datetime.timedelta(days=1))
    assert [m.meta["grant"] for m in billing()] == [paused.pk]
    assert archived.pk and signed.pk


def test_a_late_start_sends_only_the_current_step_and_a_new_due_date_restarts(owing, petugas):
    run_on(DUE - datetime.timedelta(days=3))
    assert [m.meta["lpj_step"] for m in billing()] == ["h7"]
    grant_services.lpj_set_due_date(grant=owing, due_date=DUE + datetime.timedelta(days=60), by=petugas)
    run_on(DUE - datetime.timedelta(days=3))
    assert len(billing()) == 1  # the new due date is 63 days away: nothing yet
    run_on(DUE + datetime.timedelta(days=30))
    assert [m.meta["lpj_step"] for m in billing()] == ["h7", "h30"]


def test_configurable_schedule(owing, settings):
    settings.ABAH_LPJ_REMINDER_DAYS = [14, 3]
    settings.ABAH_LPJ_OVERDUE_EVERY_DAYS = 3
    for d in range(-20, 8):
        run_on(DUE + datetime.timedelta(days=d))
    assert [m.meta["lpj_step"] for m in billing()] == ["h14", "h3", "late1", "late2", "late3"]


def test_no_contact_is_skipped_and_counted(petugas):
    make_grant(make_institution("Tanpa Kontak", phone=""), status=Grant.Status.LPJ_MENUNGGU, petugas=petugas,
               lpj_due_date=DUE)
    result = reminders.run(today=DUE - datetime.timedelta(days=1))
    assert (result.checked, result.queued, result.skipped) == (1, 0, 1)


def test_two_runs_racing_queue_each_step_once(owing):
    """Two workers that both found the step unsent: the unique key lets one insert, the other sees it."""
    today = DUE - datetime.timedelta(days=7)
    todo = {pk: (due, step, key) for pk, due, step, key in reminders.due_reminders(today)}
    stale = bulk.load_grants(Grant.objects.filter(pk__in=list(todo)))  # read before the thread existed
    first = reminders.run(today=today)
    versions = {k: reminders.current_version(k) for k in ("lpj_billing", "lpj_overdue")}
    late = reminders.RunResult()
    reminders._queue_chunk(stale, todo, versions, late)  # the second worker's stale list
    assert (first.queued, late.queued, late.already) == (1, 0, 1)
    assert len(billing()) == 1


def test_grant_schedule_rows(owing, petugas):
    run_on(DUE - datetime.timedelta(days=7))
    rows = reminders.grant_schedule(owing, today=DUE - datetime.timedelta(days=7))
    states = [(r.step.key, r.state) for r in rows]
    assert states == [("h30", "missed"), ("h7", "sent"), ("h1", "upcoming"), ("late1", "upcoming")]


def test_loop_mode_runs_passes_until_stopped(owing):
    with time_machine.travel(at(DUE - datetime.timedelta(days=1)), tick=False):
        call_command("lpj_reminders", "--loop", "--interval", "0.01", "--max-passes", "3", verbosity=0)
    assert len(billing()) == 1


def test_the_worker_runs_the_scheduler():
    from abah.core.runtime import worker_commands

    assert ("lpj-reminders", ["lpj_reminders", "--loop"]) in worker_commands()


def test_reminders_wait_for_the_send_window(owing, settings):
    """Queued at night, a reminder leaves only when the send window opens (the SMS worker enforces it)."""
    from abah.sms.backends import locmem

    from .conftest import run_worker

    settings.SMS_SEND_WINDOW = ("08:00", "20:00")
    night = datetime.datetime(2019, 1, 2, 22, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=7)))
    with time_machine.travel(night, tick=False):
        call_command("lpj_reminders", "--once", verbosity=0)
        run_worker()
    assert [m.status for m in billing()] == ["queued"] and locmem.outbox == []
    with time_machine.travel(night + datetime.timedelta(hours=10, minutes=30), tick=False):
        run_worker()
    assert [m.status for m in billing()] == ["sent"] and len(locmem.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_several_workers_at_once_send_each_step_once(petugas):
    """Real concurrent runs (threads with their own connections): the unique key admits one message per step."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them by design)")
    grants = [make_grant(make_institution(f"Lembaga {i}", phone=f"0812309002{i:02d}"), petugas=petugas,
                         status=Grant.Status.LPJ_MENUNGGU, lpj_due_date=DUE) for i in range(30)]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=30)
            results.append(reminders.run(today=DUE - datetime.timedelta(days=1), chunk_size=7))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(billing()) == len(grants)
    assert sum(r.queued for r in results) == len(grants)
    assert len({m.meta["grant"] for m in billing()}) == len(grants)


def test_thread_counters_stay_exact_whether_the_thread_is_new_or_not(petugas):
    """Bulk queueing opens missing threads with their message count already set; threads that existed are
    incremented; a racing worker whose message lost to the unique key counts nothing. Every counter equals
    the thread's messages, and the last message time is set."""
    from abah.sms.models import Conversation

    two = make_institution("Yayasan Dua Hibah")
    for _ in range(2):  # two grants of one institution, both owing: two reminders in one new thread
        make_grant(two, status=Grant.Status.LPJ_MENUNGGU, petugas=petugas, lpj_due_date=DUE)
    old = make_institution("Masjid Lama")
    make_grant(old, status=Grant.Status.LPJ_MENUNGGU, petugas=petugas, lpj_due_date=DUE)
    existing = institution_conversation(old)
    from abah.sms import services as sms_services

    sms_services.queue_message(to=existing.number, text="Pesan sebelumnya", kind="manual", conversation=existing)
    today = DUE - datetime.timedelta(days=7)
    todo = {pk: (due, step, key) for pk, due, step, key in reminders.due_reminders(today)}
    stale = bulk.load_grants(Grant.objects.filter(pk__in=list(todo)))
    assert reminders.run(today=today).queued == 3
    versions = {k: reminders.current_version(k) for k in ("lpj_billing", "lpj_overdue")}
    reminders._queue_chunk(stale, todo, versions, reminders.RunResult())  # a late worker: nothing new
    for thread in Conversation.objects.all():
        assert thread.message_count == Message.objects.filter(conversation=thread).count() > 0, thread.title
        assert thread.last_message_at is not None
    assert Conversation.objects.get(pk=existing.pk).message_count == 2
    assert institution_conversation(two).message_count == 2
