"""SMS worker throughput, queued → sent → delivered through the simulator, on SQLite and PostgreSQL.

Each engine runs in its own subprocess against a throwaway database (a temporary SQLite file; a fresh
PostgreSQL database on 127.0.0.1:5432 that is dropped afterwards). Target: 2,000 messages per second.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench._harness import postgres_reachable, throwaway_database

BASE_DIR = Path(__file__).resolve().parent.parent
TARGET_PER_SECOND = 2000
MESSAGES = 20_000


# ---------------------------------------------------------------- shared with bench.sms_pages


def run_child(module: str, engine: str, extra: list[str], timeout: int = 1800) -> dict | None:
    """Run ``python -m <module> --child`` against a throwaway database; return the JSON it prints last."""
    with throwaway_database(engine) as url:
        env = {
            **os.environ, "DATABASE_URL": url, "DEBUG": "1", "SMS_GATEWAY_BACKEND": "simulator",
            "SMS_GATEWAY_OPTIONS": json.dumps({"dlr_delay": [0, 0], "dead_suffixes": ["0000"]}),
            "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
        }
        env.pop("TEST_DATABASE_NAME", None)
        proc = subprocess.run(  # noqa: S603
            [sys.executable, "-m", module, "--child", *extra], cwd=BASE_DIR, env=env, capture_output=True,
            text=True, timeout=timeout,
        )
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_setup() -> None:
    """Django for a benchmark child: migrated, with the per-query debug log off (it would skew timings)."""
    import django

    sys.path.insert(0, str(BASE_DIR))
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # static files stay the development storage chosen at import; no query log
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0, interactive=False)


# ---------------------------------------------------------------- this benchmark


def child(argv: list[str]) -> int:
    child_setup()
    from django.db import connection

    from abah.sms import services
    from abah.sms.daemon import Daemon
    from abah.sms.models import Message

    count = int(argv[0]) if argv else MESSAGES
    for start in range(0, count, 5000):
        services.queue_messages([
            {"to": f"0812{i:08d}", "text": f"Yth Bpk/Ibu, dana hibah Tahap I nomor {i} sudah ditransfer.",
             "kind": "manual" if i % 10 else "code", "idempotency_key": f"bench:{i}"}
            for i in range(start + 1, min(count, start + 5000) + 1)
        ])
    daemon = Daemon(batch_size=500, worker_id="bench")
    started = time.perf_counter()
    rounds = 0
    while Message.objects.filter(status__in=["queued", "sending", "sent"]).exists() and rounds < 10_000:
        daemon.tick(drain=True)
        rounds += 1
    elapsed = time.perf_counter() - started
    done = Message.objects.filter(status__in=["delivered", "failed"]).count()
    print(json.dumps({"engine": connection.vendor, "messages": count, "done": done, "seconds": elapsed,
                      "per_second": done / elapsed if elapsed else 0}))
    return 0 if done == count else 1


def run(argv: list[str]) -> int:
    engines = ["sqlite"] + (["postgres"] if postgres_reachable() else [])
    if "postgres" not in engines:
        print("PostgreSQL not reachable on 127.0.0.1:5432: measuring SQLite only")
    failures = 0
    for engine in engines:
        result = run_child("bench.sms_worker", engine, [str(MESSAGES)])
        if result is None:
            print(f"{engine}: FAIL (the benchmark did not finish)")
            failures += 1
            continue
        ok = result["per_second"] >= TARGET_PER_SECOND and result["done"] == result["messages"]
        failures += 0 if ok else 1
        print(f"{engine:<9} {result['done']:>6} messages queued → sent → delivered in {result['seconds']:.2f} s: "
              f"{result['per_second']:.0f} msg/s (target ≥ {TARGET_PER_SECOND}) {'PASS' if ok else 'FAIL'}",
              flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2:]))
    sys.exit(run(sys.argv[1:]))
