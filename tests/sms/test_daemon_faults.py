"""The worker survives what a bureau meets: an SMSC that gives its message ids out again, one message the
database refuses, inbound text no database can hold, a backup that starts together with its primary.
(Whole-process faults — SIGKILL, database and SMSC restarts — are in tests/faults/.)"""

import pytest
from django.db import connection

from abah.sms import services
from abah.sms.backends.base import DeliveryReport, SendResult
from abah.sms.daemon import Daemon
from abah.sms.models import Message, MessagePart, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def queue(n: int, number: str = "+62812300{:05d}") -> list[Message]:
    return [services.queue_message(to=number.format(i), text=f"Pesan {i}", kind="manual") for i in range(n)]


def claimed(daemon: Daemon) -> dict[int, int]:
    rows = daemon.claim()
    return {pk: attempts for pk, _number, _text, attempts in rows}


def test_an_smsc_that_gives_an_id_out_again_does_not_stop_the_worker(locmem_gateway):
    """Before: IntegrityError on (gateway, gateway id), the worker died and the batch was sent again."""
    first, second = queue(2)
    daemon = Daemon(worker_id="w1")
    attempts = claimed(daemon)
    daemon.record([SendResult(first.pk, True, ["1"])], attempts)  # the SMSC's first life
    daemon.record([SendResult(second.pk, True, ["1"])], attempts)  # restarted: its counter is at 1 again

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Message.Status.SENT
    # The receipt for id 1 now belongs to the newest part with that id; the older part is noted.
    services.apply_delivery_reports(gateway=daemon.gateway, reports=[DeliveryReport("1", True)])
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.status == Message.Status.DELIVERED
    assert first.status == Message.Status.SENT  # settled later by expiry
    old = MessagePart.objects.get(message=first)
    assert old.error_code == "id_reused" and "newer message" in old.error_reason


def _refuse_parts_of(message_id: int):
    """A real database error for one message only: a trigger that refuses its parts."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER refuse_one BEFORE INSERT ON sms_messagepart WHEN NEW.message_id = {int(message_id)} "
                "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.message_id = {int(message_id)} THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute("CREATE TRIGGER refuse_one BEFORE INSERT ON sms_messagepart "
                           "FOR EACH ROW EXECUTE FUNCTION refuse_one()")


def test_one_message_the_database_refuses_is_set_aside_and_the_batch_goes_on(locmem_gateway):
    messages = queue(5)
    bad = messages[2]
    _refuse_parts_of(bad.pk)
    daemon = Daemon(worker_id="w1")
    attempts = claimed(daemon)
    daemon.record([SendResult(m.pk, True, [f"G{m.pk}"]) for m in messages], attempts)

    statuses = dict(Message.objects.values_list("pk", "status"))
    assert all(statuses[m.pk] == Message.Status.SENT for m in messages)
    assert MessagePart.objects.count() == 4  # every good one recorded with its part
    bad.refresh_from_db()
    assert bad.error_code == "unrecorded" and "refused by a test trigger" in bad.error_reason
    assert "refused by a test trigger" in daemon.last_error


def test_a_refused_batch_of_one_in_a_real_tick_does_not_stop_the_worker(locmem_gateway):
    messages = queue(3)
    _refuse_parts_of(messages[0].pk)
    daemon = Daemon(worker_id="w1")
    daemon.tick(drain=True)
    assert Message.objects.filter(status=Message.Status.SENT).count() == 3
    assert len(locmem_gateway.outbox) == 3  # nothing sent twice
    daemon.tick(drain=True)
    assert len(locmem_gateway.outbox) == 3


@pytest.mark.parametrize("text,stored", [
    ("Sudah\x00 diterima", "Sudah diterima"),
    ("pecah \ud83d tengah", "pecah \ufffd tengah"),
    ("utuh \ud83d\ude00", "utuh \U0001f600"),
    ("kontrol\x1b[31m merah\x7f", "kontrol[31m merah"),
])
def test_inbound_text_a_database_cannot_hold_is_cleaned_and_the_others_are_kept(locmem_gateway, text, stored):
    locmem_gateway.receive("+6281230900095", "sebelum", "in-1")
    locmem_gateway.receive("+6281230900095", text, "in-2")
    locmem_gateway.receive("+6281230900095\x00", "sesudah", "in-3")
    Daemon(worker_id="w1").tick(drain=True)
    texts = list(Message.objects.inbound().order_by("id").values_list("text", flat=True))
    assert texts == ["sebelum", stored, "sesudah"]
    assert set(Message.objects.inbound().values_list("number", flat=True)) == {"+6281230900095"}


def test_a_backup_that_starts_with_its_primary_does_not_take_the_primarys_kinds(settings, locmem_gateway):
    """Before: a backup that had not seen the primary's heartbeat yet took its messages."""
    settings.SMS_GATEWAYS = {
        "primary": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend"},
        "backup": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend"},
    }
    settings.SMS_ROUTES = {"*": ["primary", "backup"]}
    queue(3)
    backup = Daemon(gateway="backup", worker_id="backup-1")
    assert backup.claim() == []  # the primary's worker may be starting at this very moment
    # Once it has watched a whole grace period without a heartbeat, the primary's absence is certain.
    backup._watch_since -= 60
    backup._others_at = -60
    assert len(backup.claim()) == 3


def test_a_backup_takes_over_at_once_when_the_primary_says_it_is_down(settings, locmem_gateway):
    from django.utils import timezone

    settings.SMS_GATEWAYS = {
        "primary": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend"},
        "backup": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend"},
    }
    settings.SMS_ROUTES = {"*": ["primary", "backup"]}
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker="p", gateway="primary", hostname="h", pid=1, started_at=now, seen_at=now,
                                   gateway_ok=False, gateway_error="bind refused")
    queue(2)
    assert len(Daemon(gateway="backup", worker_id="backup-1").claim()) == 2


def test_a_late_receipt_after_no_report_still_wins(locmem_gateway):
    from abah.sms import expiry

    (message,) = queue(1)
    daemon = Daemon(worker_id="w1")
    daemon.tick(drain=True)
    from datetime import timedelta

    from django.utils import timezone

    expiry.expire_unreported(now=timezone.now() + timedelta(days=3))
    message.refresh_from_db()
    assert message.status == Message.Status.NO_REPORT
    locmem_gateway.deliver(locmem_gateway.outbox[0])
    daemon.tick(drain=True)
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and not message.error_code


def test_outgoing_text_is_cleaned_when_it_is_queued(locmem_gateway):
    """Before: a NUL in a queued text (an import, an API body) was a DataError on PostgreSQL."""
    message = services.queue_message(to="+6281230900095", text="Undangan\x00 rapat \ud83d\x1b", kind="manual")
    message.refresh_from_db()
    assert message.text == "Undangan rapat \ufffd"
    Daemon(worker_id="w1").tick(drain=True)
    assert locmem_gateway.outbox[0].text == "Undangan rapat \ufffd"
