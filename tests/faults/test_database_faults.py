"""The database goes away under a busy worker: a throwaway PostgreSQL cluster (initdb + pg_ctl on a free port,
never the shared server) restarted twice mid-run, each time down for two seconds with every connection cut.

Target: the worker survives without being restarted (0 exits), 0 lost, 0 duplicates (what was accepted by
the SMSC but not yet recorded when the connection dropped is reconciled, not sent again).
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
    failure_details,
    lease_seconds,
    messages,
    wait_for_submits,
    wait_until_done,
)
from tests.sms.peers.fixtures import smpp_gateway

pytestmark = pytest.mark.faults

RESTARTS = 2
DOWN_SECONDS = 2.0


def test_postgres_restarted_mid_run(pg_cluster, cluster_database, make_peer, tmp_path):
    n = messages()
    peer = make_peer()
    numbers = cluster_database.queue(n)
    workers = Workers(cluster_database, {"default": smpp_gateway(peer, window=WINDOW)}, tmp_path,
                      batch=batch_size(n))
    started = time.monotonic()
    workers.start()
    downs = []
    for k in range(RESTARTS):
        wait_for_submits(peer, n * (k + 1) // (RESTARTS + 1), timeout=60, workers=workers)
        downs.append(pg_cluster.restart(down_seconds=DOWN_SECONDS))
    done = wait_until_done(cluster_database, workers, timeout=lease_seconds() * 2 + 90 + n / 50)
    workers.stop()
    result = Result("postgres-restart-x2", "postgres", n)
    count(result, cluster_database, peer, numbers)
    result.worker_exits = len(workers.exits)
    result.errors = dict(workers.errors())
    result.daemon_restarts = daemon_restarts(workers.logs)
    result.seconds = time.monotonic() - started
    result.notes = f"db_down={'+'.join(f'{d:.1f}' for d in downs)}s"
    result.report()
    details = failure_details(result, workers.logs)
    assert result.worker_exits == 0, f"the worker exited when the database restarted: {workers.exits}\n{details}"
    assert result.daemon_restarts == 0, f"the daemon failed on the outage and was restarted by smsd\n{details}"
    assert done, f"the queue did not empty in time\n{details}"
    assert result.lost == 0, details
    assert result.duplicates == 0, f"messages sent twice around a database restart\n{details}"
