"""Real worker processes against the PostgreSQL test database: SKIP LOCKED sharing, and a SIGKILLed worker."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from abah.sms import services
from abah.sms.models import Message, MessagePart, SimulatorDelivery, UnmatchedReport, WorkerHeartbeat

BASE_DIR = Path(__file__).resolve().parents[2]


def worker_env(**options):
    settings = connection.settings_dict
    url = f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "SMS_GATEWAY_BACKEND": "simulator",
           "SMS_GATEWAY_OPTIONS": json.dumps({"dlr_delay": [0, 0], **options}), "PYTHONUNBUFFERED": "1"}
    env.pop("TEST_DATABASE_NAME", None)
    return env


def start_worker(*args, **options):
    argv = [sys.executable, "manage.py", "smsd", *args]
    return subprocess.Popen(argv, cwd=BASE_DIR, env=worker_env(**options), stdout=subprocess.PIPE,  # noqa: S603
                            stderr=subprocess.STDOUT, text=True)


def finish(proc, timeout=300):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def queue_many(n):
    items = [{"to": f"0812{i:08d}", "text": f"Pesan nomor {i}", "kind": "manual" if i % 3 else "code",
              "idempotency_key": f"conc:{i}"} for i in range(1, n + 1)]
    services.queue_messages(items)


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_5000_messages_without_sending_one_twice(require_postgres):
    queue_many(5000)
    workers = [start_worker("--exit-when-idle", "--batch-size", "200", "--max-seconds", "240", "--worker-id", f"w{i}")
               for i in (1, 2)]
    for proc in workers:
        finish(proc)
    assert not Message.objects.filter(status__in=["queued", "sending"]).exists()  # none lost
    duplicates = SimulatorDelivery.objects.values("client_ref").annotate(n=Count("id")).filter(n__gt=1)
    assert list(duplicates) == []  # none sent twice
    assert SimulatorDelivery.objects.count() == 5000
    assert MessagePart.objects.count() == 5000
    assert set(WorkerHeartbeat.objects.values_list("worker", flat=True)) == {"w1", "w2"}
    finish(start_worker("--once"))  # collect any report still due
    assert not UnmatchedReport.objects.exists()
    assert Message.objects.filter(status="delivered").count() == 5000
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_loses_nothing(require_postgres):
    queue_many(300)
    # The first worker hangs inside the gateway call (a slow link) holding a claimed batch of 100 …
    victim = start_worker("--batch-size", "100", "--lease", "2", "--worker-id", "victim", submit_delay=600)
    deadline = time.monotonic() + 120
    while not Message.objects.filter(status="sending", worker="victim").exists():
        assert time.monotonic() < deadline and victim.poll() is None, "the worker never claimed a batch"
        time.sleep(0.1)
    victim.send_signal(signal.SIGKILL)  # … and dies without a chance to clean up
    victim.wait(timeout=30)
    stranded = set(Message.objects.filter(status="sending", worker="victim").values_list("id", flat=True))
    assert len(stranded) == 100
    # Another worker takes the batch back once the lease has expired and finishes everything.
    finish(start_worker("--exit-when-idle", "--batch-size", "100", "--worker-id", "rescuer"))
    finish(start_worker("--once"))
    assert Message.objects.filter(status="delivered").count() == 300
    assert set(Message.objects.filter(id__in=stranded).values_list("attempts", flat=True)) == {2}
    assert SimulatorDelivery.objects.count() == 300  # the victim never reached the SMSC: nothing duplicated


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_gracefully(require_postgres):
    queue_many(50)
    proc = start_worker("--worker-id", "graceful")
    deadline = time.monotonic() + 120
    while Message.objects.filter(status__in=["queued", "sending"]).exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    finish(proc, timeout=60)
    assert WorkerHeartbeat.objects.get(worker="graceful").state == "stopped"
    assert not Message.objects.filter(status="sending").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_idempotency_key_create_one_message(require_postgres):
    """Eight threads (eight connections) queue 80 messages over 10 keys at once: 10 rows, and every caller of
    a key gets the same message back (the unique index decides; the loser returns the winner's row)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections, transaction

    start = threading.Barrier(8)

    def queue(i):
        if i < 8:
            start.wait(timeout=60)  # the first eight start together
        try:
            with transaction.atomic():
                message = services.queue_message(to="081230900095", text=f"Undangan {i % 10}", kind="invitation",
                                                 idempotency_key=f"race:{i % 10}")
            return i % 10, message.pk
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(queue, range(80)))
    assert Message.objects.count() == 10
    by_key = {}
    for key, pk in results:
        by_key.setdefault(key, set()).add(pk)
    assert all(len(pks) == 1 for pks in by_key.values()) and len(by_key) == 10
