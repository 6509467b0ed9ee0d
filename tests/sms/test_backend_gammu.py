"""The Gammu backend against a real gammu-smsd (dummy phone driver) on its own database, end to end."""

import io
import time

import pytest
from django.core.management import call_command

from abah.sms import services
from abah.sms.backends.base import OutgoingSMS
from abah.sms.backends.gammu import GammuBackend, GammuSchemaError
from abah.sms.daemon import Daemon
from abah.sms.models import Message, MessagePart
from tests import components

from .peers.fixtures import require_gammu, run_until  # noqa: F401 (fixture)
from .peers.gammu_peer import GammuPeer, insert_and_die

pytestmark = pytest.mark.django_db(transaction=True)  # inbox rows are marked processed on commit

LONG_UCS2 = ("Yth. Bapak/Ibu, dana hibah untuk lembaga Anda telah dicairkan 🎉. Mohon tanda tangani NPHD "
             "di kantor Biro Kesra sebelum 30 November — terima kasih. مرحبا ✓ Salam hormat, Biro Kesra Jatim.")


def _engine() -> str:
    # Gammu's database on the engine the suite uses (PostgreSQL when DATABASE_URL says so; SQLite otherwise).
    return "postgresql" if components.database_url().startswith(("postgres://", "postgresql://")) else "sqlite"


@pytest.fixture
def gammu_db(require_gammu, tmp_path):  # noqa: F811
    peer = GammuPeer(tmp_path, _engine(), components.database_url())
    peer.create_database()
    yield peer
    peer.stop()
    peer.drop_database()


@pytest.fixture
def modem(gammu_db):
    gammu_db.loop_sleep = 0  # the modem picks up a new outbox row at once: the tests stay short
    return gammu_db.start()


@pytest.fixture
def daemon(settings, modem):
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend", "OPTIONS": modem.options()}}
    worker = Daemon(gateway="modem", batch_size=50, interval=0.05)
    worker.backend.open()
    yield worker
    worker.backend.close()


def sentitems(modem):
    return modem.query('SELECT "ID", "SequencePosition", "Status", "DestinationNumber", "Coding", "UDH", "TextDecoded", '
                       '"CreatorID" FROM sentitems ORDER BY "ID", "SequencePosition"')


def test_queue_to_modem_to_report_to_delivered_and_failed(daemon, modem):
    short = services.queue_message(to="081230900001", text="Kode verifikasi Anda 123456", kind="code")
    long = services.queue_message(to="081230900002", text=LONG_UCS2, kind="disbursement")
    failing = services.queue_message(to="081230900003", text="Undangan NPHD", kind="invitation")
    assert long.segments == 3
    run_until(daemon, lambda: len(sentitems(modem)) == 5, rounds=400)
    rows = sentitems(modem)
    assert {row[2] for row in rows} == {"SendingOK"}
    by_number = {}
    for _id, seq, _status, number, coding, udh, text, creator in rows:
        by_number.setdefault(number, []).append((seq, coding, udh, text, creator))
    assert by_number["+6281230900001"] == [(1, "Default_No_Compression", "", "Kode verifikasi Anda 123456",
                                            f"abah:{short.pk}")]
    parts = by_number["+6281230900002"]
    assert [p[0] for p in parts] == [1, 2, 3] and {p[1] for p in parts} == {"Unicode_No_Compression"}
    assert [p[2][:6] + p[2][8:] for p in parts] == ["0500030301", "0500030302", "0500030303"]
    assert "".join(p[3] for p in parts) == LONG_UCS2  # arrives whole
    for message in (short, long, failing):
        message.refresh_from_db()
        assert message.status == Message.Status.SENT and message.gateway == "modem"

    modem.report("+6281230900001", "Delivered")
    modem.report("+6281230900002", "Delivered")
    modem.report("+6281230900003", "Failed")
    run_until(daemon, lambda: not Message.objects.filter(status=Message.Status.SENT).exists(), rounds=400)
    short.refresh_from_db()
    long.refresh_from_db()
    failing.refresh_from_db()
    assert short.status == Message.Status.DELIVERED
    assert long.status == Message.Status.DELIVERED and long.parts.filter(status="delivered").count() == 3
    assert failing.status == Message.Status.FAILED
    assert failing.error_code == "DeliveryFailed"
    assert failing.error_reason.startswith("The delivery report says the message was not delivered")


def test_inbound_single_and_multipart_become_conversation_messages(daemon, modem):
    thread = services.conversation_for(party_type="test.party", party_id="5", title="Yayasan Contoh",
                                       number="081230900400")
    modem.receive("+6281230900400", "YA SETUJU")
    modem.receive("+6281230900401", "Ini bagian pertama ✓ ", udh="0500032A0201", unicode=True)
    modem.receive("+6281230900401", "dan bagian kedua.", udh="0500032A0202", unicode=True)
    run_until(daemon, lambda: Message.objects.filter(direction=Message.Direction.IN).count() >= 2, rounds=400)
    inbound = {m.number: m for m in Message.objects.filter(direction=Message.Direction.IN)}
    assert len(inbound) == 2
    assert inbound["+6281230900400"].text == "YA SETUJU"
    assert inbound["+6281230900400"].conversation_id == thread.pk
    assert inbound["+6281230900401"].text == "Ini bagian pertama ✓ dan bagian kedua."
    run_until(daemon, lambda: not modem.query('SELECT "ID" FROM inbox WHERE "Processed" = %s',
                                              (False if modem.engine == "postgresql" else "false",)), rounds=100)
    assert modem.query('SELECT COUNT(*) FROM inbox')[0][0] == 3
    daemon.tick(drain=True)  # processed rows are not read again
    assert Message.objects.filter(direction=Message.Direction.IN).count() == 2


def test_status_shows_the_modem_heartbeat_and_signal(settings, modem):
    backend = GammuBackend(**modem.options(heartbeat_grace=2))
    backend.open()
    try:
        ok, detail = backend.status()
        assert ok, detail
        assert detail.startswith("dummy1: up, signal ")
        modem.stop()
        for _ in range(300):  # bounded: the heartbeat goes stale ~10 s after the daemon stops
            ok, detail = backend.status()
            if not ok:
                break
            time.sleep(0.1)
        assert not ok
        assert "stale" in detail  # gammu-smsd leaves its row in `phones`: the heartbeat just stops moving
        assert "StatusFrequency = 0" in detail  # the hint for a daemon that never refreshes its heartbeat
        lenient = GammuBackend(**modem.options(heartbeat_grace=0))  # heartbeat ignored: registered is enough
        lenient.open()
        try:
            assert lenient.status()[0]
        finally:
            lenient.close()
    finally:
        backend.close()


def test_unsupported_schema_version_is_refused_clearly(gammu_db):
    assert gammu_db.query('UPDATE gammu SET "Version" = 16 RETURNING "Version"') == [(16,)]
    backend = GammuBackend(**gammu_db.options())
    with pytest.raises(GammuSchemaError, match="schema version 16 is not supported"):
        backend.open()


def test_gateway_check_reports_schema_and_modem(settings, modem):
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend", "OPTIONS": modem.options()}}
    out = io.StringIO()
    call_command("sms_gateway_check", stdout=out)
    text = out.getvalue()
    assert "[ ok ] modem (GammuBackend)" in text and "schema version 17" in text and "dummy1: up" in text


def test_gateway_check_without_a_modem(settings, gammu_db):
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                                       "OPTIONS": gammu_db.options()}}
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("sms_gateway_check", stdout=out)
    assert "no modem" in out.getvalue()


def test_delivered_through_the_modem_shows_the_green_check_in_the_thread(daemon, modem, admin_client):
    from django.urls import reverse

    thread = services.conversation_for(party_type="test.party", party_id="12", title="Yayasan Contoh",
                                       number="081230900901")
    message = services.queue_message(to="081230900901", text="Dana hibah telah dicairkan", kind="disbursement",
                                     conversation=thread)
    run_until(daemon, lambda: len(sentitems(modem)) == 1, rounds=400)
    modem.report("+6281230900901", "Delivered")
    run_until(daemon, lambda: Message.objects.filter(pk=message.pk, status=Message.Status.DELIVERED).exists(),
              rounds=400)
    body = admin_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
    assert body.count('data-testid="mark-delivered"') == 1 and "Dana hibah telah dicairkan" in body


# ---------------------------------------------------------------- exactly once (issue 12)

def _false(peer):
    return False if peer.engine == "postgresql" else "false"


def test_a_retried_message_already_in_gammu_is_not_inserted_again(gammu_db):
    backend = GammuBackend("modem", **gammu_db.options())
    backend.open()
    try:
        short = OutgoingSMS(7001, "+6281230900501", "Kode verifikasi Anda 123456")
        long = OutgoingSMS(7002, "+6281230900502", LONG_UCS2)
        first = {r.id: r.part_ids for r in backend.send_messages([short, long])}
        assert len(first[7002]) == 3
        # The worker died before recording this; the lease ends and the next attempt comes: same rows.
        again = backend.send_messages([OutgoingSMS(7001, short.number, short.text, 2),
                                       OutgoingSMS(7002, long.number, long.text, 2)])
        assert {r.id: r.part_ids for r in again} == first and all(r.accepted for r in again)
        assert gammu_db.ids_by_creator() == {"abah:7001": {int(first[7001][0].split(".")[0])},
                                             "abah:7002": {int(first[7002][0].split(".")[0])}}
        assert gammu_db.query("SELECT COUNT(*) FROM outbox_multipart")[0][0] == 2
        # The modem sends them (rows move to sentitems, part by part): still found, still the same ids.
        gammu_db.loop_sleep = 0
        gammu_db.start()
        for _ in range(300):  # bounded: ~30 s
            if len(gammu_db.query('SELECT "ID" FROM sentitems')) == 4:
                break
            time.sleep(0.1)
        third = backend.send_messages([OutgoingSMS(7002, long.number, long.text, 3)])
        assert third[0].part_ids == first[7002]
        assert gammu_db.query('SELECT COUNT(*) FROM outbox')[0][0] == 0
        assert len(gammu_db.ids_by_creator()["abah:7002"]) == 1
    finally:
        backend.close()


def test_a_message_taken_back_is_inserted_again(gammu_db):
    backend = GammuBackend("modem", **gammu_db.options())
    backend.open()
    try:
        sms = OutgoingSMS(7101, "+6281230900511", "Undangan NPHD")
        (first,) = backend.send_messages([sms])
        returned = []
        for _ in range(50):  # bounded: SendingTimeOut defaults to "now", a row is free once that second passed
            returned = backend.take_back()
            if returned:
                break
            time.sleep(0.1)
        assert returned == first.part_ids  # no modem: nobody started it, so it is deleted
        assert gammu_db.ids_by_creator() == {}
        (second,) = backend.send_messages([OutgoingSMS(sms.id, sms.number, sms.text, 2)])
        assert second.part_ids != first.part_ids  # not in Gammu any more: inserting again is right
        assert len(gammu_db.ids_by_creator()["abah:7101"]) == 1
    finally:
        backend.close()


def test_worker_killed_between_gammu_insert_and_our_commit_sends_once(daemon, modem):
    short = services.queue_message(to="081230900601", text="Dana hibah telah dicairkan", kind="disbursement")
    long = services.queue_message(to="081230900602", text=LONG_UCS2, kind="disbursement")
    victim = Daemon(gateway="modem", batch_size=50, lease_seconds=0.5, worker_id="victim")
    claimed = victim.claim()
    assert {row[0] for row in claimed} == {short.pk, long.pk}
    # A real worker process: Gammu's INSERT commits, then SIGKILL before our database hears of it.
    _status, parts = insert_and_die(modem.options(), [list(row) for row in claimed])
    assert sorted(len(p) for p in parts) == [1, 3]
    assert Message.objects.filter(status=Message.Status.SENDING, worker="victim").count() == 2
    time.sleep(0.6)  # the victim's lease ends
    run_until(daemon, lambda: Message.objects.filter(status=Message.Status.SENT).count() == 2
              and len(sentitems(modem)) == 4, rounds=600)
    one, three = sorted(parts, key=len)
    assert modem.ids_by_creator() == {  # one outbox row each, the dead worker's: never queued twice
        f"abah:{short.pk}": {int(one[0].split(".")[0])}, f"abah:{long.pk}": {int(three[0].split(".")[0])}}
    assert len(sentitems(modem)) == 4 and modem.sent_on_device() == 4  # 1 + 3 parts, each sent once
    long.refresh_from_db()
    assert long.attempts == 2 and sorted(long.parts.values_list("gateway_message_id", flat=True)) == sorted(three)
    # Their receipts are read too (the parts were recorded after the modem had sent them).
    modem.report("+6281230900601", "Delivered")
    modem.report("+6281230900602", "Delivered")
    run_until(daemon, lambda: Message.objects.filter(status=Message.Status.DELIVERED).count() == 2, rounds=400)
    assert Message.objects.filter(status=Message.Status.DELIVERED).count() == 2
    assert modem.sent_on_device() == 4


# ---------------------------------------------------------------- statuses by what changed (issue 12)

def _waiting_parts(n: int) -> list[int]:
    """n messages SENT through "modem", one part each with gateway id "<i>.1" (i = 1 … n); their ids."""
    services.queue_messages([{"to": f"0812{i:08d}", "text": f"Pesan {i}", "kind": "manual",
                              "idempotency_key": f"gammu-status:{i}"} for i in range(1, n + 1)])
    ids = list(Message.objects.order_by("id").values_list("id", flat=True))
    Message.objects.update(status=Message.Status.SENT, gateway="modem")
    MessagePart.objects.bulk_create([MessagePart(message_id=pk, seq=1, gateway="modem", gateway_message_id=f"{i}.1")
                                     for i, pk in enumerate(ids, start=1)], batch_size=500)
    return ids


def _sentitems_rows(peer, ids, *, status="SendingOK", updated=None):
    rows = [(i, 1, status, f"abah:{pk}", "dummy1", "x", "", "+6281200000000") for i, pk in enumerate(ids, start=1)]
    columns = '"ID", "SequencePosition", "Status", "CreatorID", "SenderID", "Text", "UDH", "DestinationNumber"'
    if peer.engine == "sqlite":
        import sqlite3

        with sqlite3.connect(peer.db_path) as conn:
            conn.executemany(f"INSERT INTO sentitems ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)  # noqa: S608
    else:
        import psycopg

        with psycopg.connect(peer._pg_dsn(peer.pg_db), autocommit=True) as conn, conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO sentitems ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)  # noqa: S608


def test_a_newer_status_is_read_while_4000_older_parts_never_get_one(settings, gammu_db):
    ids = _waiting_parts(4200)
    _sentitems_rows(gammu_db, ids)  # the modem sent them all; the oldest never get a final status
    # One old part got its report long ago, before the worker started (the catch-up pass finds it).
    gammu_db.query('UPDATE sentitems SET "Status" = %s WHERE "ID" = %s RETURNING "ID"', ("DeliveryFailed", 4100))
    gammu_db.query('UPDATE sentitems SET "UpdatedInDB" = %s WHERE "ID" = %s RETURNING "ID"',
                   ("2020-01-01 00:00:00", 4100))
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                                       "OPTIONS": gammu_db.options(status_interval=0)}}
    worker = Daemon(gateway="modem", batch_size=500)
    worker.backend.open()
    try:
        assert worker.poll() == 1  # start: the catch-up pass walks every waiting part, not the oldest 4,000
        assert Message.objects.get(pk=ids[4099]).status == Message.Status.FAILED
        assert worker.poll() == 0
        # Now the newest part gets its report, and another one a status that is not final.
        gammu_db.query('UPDATE sentitems SET "Status" = %s WHERE "ID" = %s RETURNING "ID"', ("DeliveryOK", 4200))
        gammu_db.query('UPDATE sentitems SET "Status" = %s WHERE "ID" = %s RETURNING "ID"', ("DeliveryUnknown", 4199))
        assert worker.poll() == 1
        assert Message.objects.get(pk=ids[4199]).status == Message.Status.DELIVERED
        assert Message.objects.get(pk=ids[4198]).status == Message.Status.SENT  # DeliveryUnknown: still waiting
        assert worker.poll() == 0  # the overlap window is read again, the report is not handed over twice
        assert Message.objects.filter(status=Message.Status.SENT).count() == 4198
    finally:
        worker.backend.close()


def test_a_status_handed_over_but_not_committed_is_read_again(gammu_db):
    ids = _waiting_parts(3)
    _sentitems_rows(gammu_db, ids)
    backend = GammuBackend("modem", **gammu_db.options(status_interval=0))
    backend.open()
    try:
        assert backend.poll() == ([], [])
        gammu_db.query('UPDATE sentitems SET "Status" = %s WHERE "ID" = %s RETURNING "ID"', ("DeliveryOK", 2))
        reports, _ = backend.poll()
        assert [r.gateway_message_id for r in reports] == ["2.1"] and reports[0].delivered
        again, _ = backend.poll()  # our transaction failed: no acknowledge, so it comes again
        assert again == reports
        backend.acknowledge(again, [])
        assert backend.poll() == ([], [])
    finally:
        backend.close()


# ---------------------------------------------------------------- one bad row, one lost connection (issue 12)

def _inbox_row(peer, number, text, udh=""):
    peer.query('INSERT INTO inbox ("Text", "SenderNumber", "UDH", "TextDecoded", "RecipientID", "Coding") '
               'VALUES (%s, %s, %s, %s, %s, %s) RETURNING "ID"', ("", number, udh, text, "dummy1", "Default_No_Compression"))


def test_bad_inbox_rows_do_not_stop_the_batch(settings, gammu_db):
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                                       "OPTIONS": gammu_db.options()}}
    nul = "\x00" if gammu_db.engine == "sqlite" else "\x07"  # PostgreSQL cannot even store U+0000
    _inbox_row(gammu_db, "+6281230900701", f"YA{nul} SETUJU")
    _inbox_row(gammu_db, "+6281230900702", "UDH rusak", udh="0500Z3")  # not hexadecimal
    _inbox_row(gammu_db, "+6281230900703", "UDH ganjil", udh="05000")  # odd length
    if gammu_db.engine == "sqlite":  # bytes that are not UTF-8 (8-bit data)
        import sqlite3

        with sqlite3.connect(gammu_db.db_path) as conn:
            conn.execute('INSERT INTO inbox ("Text", "SenderNumber", "UDH", "TextDecoded", "RecipientID") '
                         "VALUES ('', '+6281230900704', '', CAST(X'4f4bfffe' AS TEXT), 'dummy1')")
    _inbox_row(gammu_db, "+6281230900705", "Terima kasih")
    worker = Daemon(gateway="modem", batch_size=50)
    worker.backend.open()
    try:
        worker.poll()
        inbound = dict(Message.objects.filter(direction=Message.Direction.IN).values_list("number", "text"))
        assert inbound["+6281230900701"] == "YA SETUJU"
        assert inbound["+6281230900702"] == "UDH rusak" and inbound["+6281230900703"] == "UDH ganjil"
        assert inbound["+6281230900705"] == "Terima kasih"
        if gammu_db.engine == "sqlite":
            assert inbound["+6281230900704"].startswith("OK")
        assert not gammu_db.query('SELECT "ID" FROM inbox WHERE "Processed" = %s', (_false(gammu_db),))
    finally:
        worker.backend.close()


def test_connection_lost_mid_poll_is_rebuilt_on_the_next_call(gammu_db):
    backend = GammuBackend("modem", **gammu_db.options())
    backend.open()
    try:
        _inbox_row(gammu_db, "+6281230900801", "Pertama")
        (_reports, inbound) = backend.poll()
        assert [sms.text for sms in inbound] == ["Pertama"]
        _lose_connection(gammu_db, backend)
        backend.acknowledge([], inbound)  # stored on our side, Gammu away: remembered, not lost
        _inbox_row(gammu_db, "+6281230900802", "Kedua")
        _lose_connection(gammu_db, backend)
        with pytest.raises(Exception):  # noqa: B017 (sqlite3 or psycopg: the worker handles either)
            backend.poll()
        assert backend._conn is None  # closed: the next call reconnects
        (_reports, inbound) = backend.poll()
        assert [sms.text for sms in inbound] == ["Kedua"]  # "Pertama" was marked processed first
        assert backend.status()[0] is False  # no modem registered, but the answer is in words, not an exception
    finally:
        backend.close()


def _lose_connection(peer, backend):
    """The Gammu database drops our session: PostgreSQL terminates it; SQLite's handle is closed under us."""
    if backend._conn is None:
        backend.open()
    if peer.engine == "postgresql":
        pid = backend._conn.info.backend_pid
        peer.query("SELECT pg_terminate_backend(%s)", (pid,))
    else:
        backend._conn.close()
