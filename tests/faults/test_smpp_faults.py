"""Faults on the SMPP path, with real processes: ``manage.py smsd`` workers against the smpp34 SMSC peer.

- the worker SIGKILLed 10 times during the sends and started again each time (one worker; two workers on one
  PostgreSQL queue): 0 lost, and each duplicate was in flight at a kill (at most the window per kill);
- the SMSC killed and started again mid-run, its message ids counting from 1 again (an aggregator's restart):
  0 lost, 0 duplicates, 0 worker exits; the same with an SMSC that never re-sends a receipt it got no
  acknowledgement for.

Sizes: ABAH_FAULTS_MESSAGES (1,000 by default; ``make faults``: 10,000). Each test prints one line of figures.
"""

import time

import pytest

from tests.faults.harness import (
    WINDOW,
    Result,
    Workers,
    batch_size,
    count,
    daemon_restarts,
    duplicated_ids,
    failure_details,
    in_flight,
    lease_seconds,
    messages,
    unanswered_submits,
    wait_for_submits,
    wait_until_done,
)
from tests.sms.peers.fixtures import smpp_gateway

pytestmark = pytest.mark.faults

KILLS = 10
PEER_RESTARTS = 3


def _finish(result: Result, database, peer, numbers, workers: Workers, started: float, *, timeout: float) -> bool:
    done = wait_until_done(database, workers, timeout=timeout)
    workers.stop()
    count(result, database, peer, numbers)
    result.worker_exits = len(workers.exits)
    result.errors = dict(workers.errors())
    result.daemon_restarts = daemon_restarts(workers.logs)
    result.seconds = time.monotonic() - started
    result.report()
    return done


def _timeout(n: int) -> float:
    return lease_seconds() * 2 + 60 + n / 50


def _kill_workers(engine, database, make_peer, tmp_path, *, workers_count: int, fault: str):
    n = messages()
    peer = make_peer()
    numbers = database.queue(n)
    workers = Workers(database, {"default": smpp_gateway(peer, window=WINDOW)}, tmp_path, count=workers_count,
                      batch=batch_size(n))
    started = time.monotonic()
    workers.start()
    result = Result(fault, engine if engine == "sqlite" else "postgres", n)
    for k in range(KILLS):
        # Spread the kills over the run by the peer's count of submits; a kill that finds no progress (the
        # queue held by dead leases) still happens after the wait.
        wait_for_submits(peer, n * (k + 1) // (KILLS + 1), timeout=lease_seconds() + 20, workers=workers)
        slot = k % workers_count
        worker_id = workers.kill(slot)
        result.in_flight_at_kills.append(in_flight(database, peer, worker_id))
        workers.start(slot)
    result.kills = workers.kills
    done = _finish(result, database, peer, numbers, workers, started, timeout=_timeout(n))
    details = failure_details(result, workers.logs)
    assert done, f"the queue did not empty in time\n{details}"
    assert result.lost == 0, details
    assert result.duplicates <= sum(result.in_flight_at_kills), (
        f"duplicates that were not in flight at any kill\n{details}")
    assert result.duplicates <= WINDOW * result.kills, f"more duplicates than the window per kill\n{details}"
    assert result.worker_exits == 0, f"workers exited on their own: {workers.exits}\n{details}"


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_worker_sigkilled_ten_times(engine, database, make_peer, tmp_path):
    _kill_workers(engine, database, make_peer, tmp_path, workers_count=1, fault="smpp-kill-worker-x10")


@pytest.mark.parametrize("engine", ["postgres"])
def test_two_workers_sigkilled_ten_times(engine, database, make_peer, tmp_path):
    _kill_workers(engine, database, make_peer, tmp_path, workers_count=2, fault="smpp-kill-2-workers-x10")


def _restart_peer(engine, database, make_peer, tmp_path, *, fault: str, **peer_options):
    n = messages()
    peer = make_peer(**peer_options)
    numbers = database.queue(n)
    workers = Workers(database, {"default": smpp_gateway(peer, window=WINDOW)}, tmp_path, batch=batch_size(n))
    started = time.monotonic()
    workers.start()
    result = Result(fault, engine, n)
    for k in range(PEER_RESTARTS):
        wait_for_submits(peer, n * (k + 1) // (PEER_RESTARTS + 1), timeout=60, workers=workers)
        peer.stop()  # SIGKILL: an SMSC crash
        time.sleep(0.5)
        peer.start()
    result.notes = f"peer_restarts={PEER_RESTARTS}"
    done = _finish(result, database, peer, numbers, workers, started, timeout=_timeout(n))
    details = failure_details(result, workers.logs)
    assert done, f"the queue did not empty in time\n{details}"
    assert result.lost == 0, details
    # A submit the SMSC took but died before answering is the one duplicate SMPP cannot rule out: every
    # duplicate must be such a submit (logged by the worker as unanswered), and no more than a window per crash.
    unanswered = unanswered_submits(workers.logs)
    duplicated = duplicated_ids(database, peer)
    assert duplicated <= unanswered, (
        f"messages sent twice that the SMSC had answered: {sorted(duplicated - unanswered)[:20]}\n{details}")
    assert result.duplicates <= WINDOW * PEER_RESTARTS, f"more duplicates than a window per SMSC crash\n{details}"
    assert result.worker_exits == 0, f"workers exited on their own: {workers.exits}\n{details}"


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_smsc_restarts_with_ids_from_one(engine, database, make_peer, tmp_path):
    _restart_peer(engine, database, make_peer, tmp_path, fault="smsc-restart-ids-from-1", ids_from_one=True)


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_smsc_restarts_without_resending_receipts(engine, database, make_peer, tmp_path):
    _restart_peer(engine, database, make_peer, tmp_path, fault="smsc-restart-no-resend", no_resend=True)
