"""Gammu SMSD (the real daemon, dummy modem driver) with workers killed between Gammu's INSERT and our commit.

A worker claims a batch (the real Daemon.claim), writes it into Gammu's outbox (the real GammuBackend; Gammu's
transaction commits) and is SIGKILLed before it records anything in our database: the messages stay
"sending" under its lease, and the modem sends them anyway. A real ``manage.py smsd`` takes them back when the
lease ends and must find them in Gammu (``CreatorID``) instead of queueing them a second time. Some victims
die before the worker starts, some while it runs; short and 3-part messages both.

Counted from Gammu's own tables and log (what the modem really transmitted) and from our database: lost
(never sent by the modem, or not "sent"/"delivered" at the end, or left without its receipt), duplicates (a
message queued in Gammu more than once, or more parts transmitted than it has), worker exits.
Target: 0 lost, 0 duplicates, 0 worker exits.
"""

import json
import subprocess
import sys
import time

import pytest

from tests.faults.harness import (
    PG_SERVER,
    ROOT,
    Result,
    Workers,
    child_env,
    daemon_restarts,
    failure_details,
    number,
    wait_until_done,
)
from tests.sms.peers.fixtures import require_gammu  # noqa: F401 (fixture)
from tests.sms.peers.gammu_peer import GammuPeer

pytestmark = pytest.mark.faults

FAULT = "gammu-kill-between-insert-and-commit"
SHORT, LONG = 24, 6  # messages: single-segment, and 3-part UCS-2 ones
VICTIMS_BEFORE, VICTIMS_DURING = 4, 2
VICTIM_BATCH, VICTIM_LEASE = 4, 2.0
LONG_TEXT = ("Yth. Bapak/Ibu, dana hibah untuk lembaga Anda telah dicairkan 🎉. Mohon tanda tangani NPHD di kantor "
             "Biro Kesra sebelum 30 November — terima kasih. Salam hormat, Biro Kesra Jatim. ✓ Nomor {i}.")

QUEUE_LONG = """
import sys, django
django.setup()
from abah.sms import services
start, count, text = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
from tests.faults.harness import number
services.queue_messages([{"to": number(i), "text": text.format(i=i), "kind": "manual",
                          "idempotency_key": f"gammu-fault:{i}"} for i in range(start, start + count)])
"""


def _victim(database, gateways: dict, index: int) -> dict:
    """One worker that dies between Gammu's commit and ours (a child process that SIGKILLs itself)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sms.peers.gammu_peer", "--claim-insert-and-die", "default",
         str(VICTIM_BATCH), str(VICTIM_LEASE), f"victim-{index}"],
        cwd=ROOT, env=child_env(database.url, SMS_GATEWAYS=json.dumps(gateways)), capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert proc.returncode == -9, f"the victim should die by SIGKILL, got {proc.returncode}:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _modem_done(peer: GammuPeer, parts: int) -> bool:
    return (not peer.query('SELECT "ID" FROM outbox WHERE "CreatorID" LIKE %s', ("abah:%",))
            and peer.sent_on_device() >= parts)


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_gammu_worker_killed_between_insert_and_commit_sends_each_message_once(engine, database, require_gammu,  # noqa: F811
                                                                               tmp_path):
    started = time.monotonic()
    (tmp_path / "gammu").mkdir()
    peer = GammuPeer(tmp_path / "gammu", "sqlite" if engine == "sqlite" else "postgresql", PG_SERVER, loop_sleep=0)
    peer.create_database()
    workers = None
    try:
        peer.start()
        gateways = {"default": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                                "OPTIONS": peer.options(status_interval=0.2, heartbeat_grace=30)}}
        # The 3-part ones first: they are claimed first, so the victims hold some of them.
        subprocess.run([sys.executable, "-c", QUEUE_LONG, "1", str(LONG), LONG_TEXT], cwd=ROOT,
                       env=child_env(database.url), check=True, capture_output=True, timeout=300)
        numbers = [number(i) for i in range(1, LONG + 1)] + database.queue(SHORT, start=LONG + 1)
        expected_parts = {num: 3 if i <= LONG else 1 for i, num in enumerate(numbers, start=1)}
        total_parts = sum(expected_parts.values())

        victims = [_victim(database, gateways, index) for index in range(VICTIMS_BEFORE)]
        workers = Workers(database, gateways, tmp_path, batch=VICTIM_BATCH)
        workers.start()
        victims += [_victim(database, gateways, VICTIMS_BEFORE + index) for index in range(VICTIMS_DURING)]
        stranded = sum(v["claimed"] for v in victims)
        assert stranded >= VICTIMS_BEFORE * VICTIM_BATCH, victims  # the fault really happened

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _modem_done(peer, total_parts):
            workers.supervise()
            time.sleep(0.2)
        for num in numbers:  # every message's receipt, so "stuck without a final state" is counted too
            peer.report(num, "Delivered")
        # settle: receipts may pause for seconds on a loaded CI machine; "sent" must stay still this long to count
        done = wait_until_done(database, workers, timeout=90, settle=20.0)
        workers.stop()

        result = Result(FAULT, engine, len(numbers))
        state = database.outgoing()
        ids = peer.ids_by_creator()
        message_ids = dict(database.query("SELECT number, id FROM sms_message WHERE direction = 'out'"))
        rows = peer.query('SELECT "CreatorID", COUNT(*) FROM sentitems WHERE "CreatorID" LIKE %s GROUP BY "CreatorID"',
                          ("abah:%",))
        sent_rows = dict(rows)
        lost = []
        for num in numbers:
            creator = f"abah:{message_ids[num]}"
            status = state.get(num, ("missing",))[0]
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if len(ids.get(creator, ())) > 1 or sent_rows.get(creator, 0) > expected_parts[num]:
                result.duplicates += 1  # queued in Gammu twice, or more parts transmitted than it has
            if sent_rows.get(creator, 0) < expected_parts[num] or status not in ("sent", "delivered"):
                lost.append((num, status, sent_rows.get(creator, 0), *state.get(num, ())[1:]))
            elif status == "sent":
                result.unsettled += 1
        on_device = peer.sent_on_device()
        result.lost, result.lost_examples = len(lost), lost[:10]
        result.worker_exits = len(workers.exits)
        result.errors = dict(workers.errors())
        result.daemon_restarts = daemon_restarts(workers.logs)
        result.seconds = time.monotonic() - started
        result.notes = (f"victims={len(victims)} stranded={stranded} (SIGKILLed between Gammu's INSERT and our "
                        f"commit) modem_parts={on_device}/{total_parts}")
        result.report()
        details = failure_details(result, workers.logs)
        assert done, f"the queue did not settle in time\n{details}"
        assert result.lost == 0, details
        assert result.duplicates == 0, details
        assert on_device == total_parts, f"the modem transmitted {on_device} parts for {total_parts}\n{details}"
        assert result.unsettled == 0, f"sent with no receipt applied\n{details}"
        assert result.worker_exits == 0, f"workers exited on their own: {workers.exits}\n{details}"
        attempts = database.query("SELECT MAX(attempts) FROM sms_message WHERE direction = 'out'")[0][0]
        assert attempts >= 2, "no message was taken back after its lease: the fault did not happen"
    finally:
        if workers is not None:
            workers.stop()
        peer.stop()
        peer.drop_database()

