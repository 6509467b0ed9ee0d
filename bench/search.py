"""Search page server time at 100,000 grants, on SQLite and PostgreSQL.

`python -m bench search [--size=100000] [--requests=200] [--engine=sqlite|postgres]`

For each engine a child process gets its own throwaway database (a temporary SQLite file; a fresh
PostgreSQL database on 127.0.0.1:5432, user postgres, dropped afterwards), migrates it, seeds the grants
in bulk (abah.grants.demo.generate), then requests /hibah/cari/ through Django's test Client for kode,
DPA and name queries, kode and DPA prefixes ("2026-HK", "2026-HK-0005", the first ten digits of a DPA number),
several words in any order without their punctuation ("krajan hidayatul", "al ikhlas"), and the Data Hibah list
with filters (status, fiscal year, jenis, regency, petugas), and prints the median and p95 server time per query type, with PASS/FAIL against
the 100 ms target for p95.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench._harness import option, per_engine

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0
NAME_QUERIES = ["nurul huda", "sukorejo", "lptq", "masjid jami", "darul ulum", "pondok pesantren al-hikmah",
                "gereja", "kelompok tani sumber rejeki", "kota malang", "bina insani"]
WORD_QUERIES = ["krajan hidayatul", "al ikhlas", "ulum bahrul", "jannah miftahul sukorejo", "AT TAQWA",
                "rejeki sumber tani", "jami al", "yosef santo gereja", "Al Falah Wonorejo", "tunas harapan"]



def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


# ---------------------------------------------------------------- child: one engine


def child(size: int, requests: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import random

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from abah.accounts.models import User
    from abah.grants.demo import generate
    from abah.grants.models import Grant

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("benchpetugas", email="bench@example.test", password="x", first_name="Bench",
                                    role="petugas", approved_at=timezone.now(), phone="+6281230900088",
                                    phone_verified_at=timezone.now())
    generate(size, petugas=[user], notes=False, batch=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeded = time.monotonic() - started
    # Measure like production: no SQL logging, no template debug information (settings were read with DEBUG=1
    # only so that the process starts without a secret key and a static-files manifest).
    settings.DEBUG = False

    rng = random.Random(7)
    ids = list(Grant.objects.order_by("?").values_list("kode", "dpa_number")[:requests * 2])
    codes = [k for k, _d in ids][:requests]
    dpas = [d for _k, d in ids if d][:requests]
    names = [rng.choice(NAME_QUERIES) for _ in range(requests)]
    words = [rng.choice(WORD_QUERIES) for _ in range(requests)]
    years = sorted(set(Grant.objects.values_list("fiscal_year", flat=True)))
    jenis = ["HK", "HM", "HO", "BS"]
    prefixes = [f"{rng.choice(years)}-{rng.choice(jenis)}" if i % 2 else
                f"{rng.choice(years)}-{rng.choice(jenis)}-{rng.randrange(1, 999):04d}" for i in range(requests)]
    dpa_prefixes = [d[:10] for d in dpas]
    statuses = [s for s in Grant.Status.values if s != Grant.Status.ARSIP]
    from abah.grants.models import REGENCIES

    filtered = [{"status": rng.choice(statuses), "tahun": rng.choice(years)} if i % 3 == 0 else
                {"jenis": rng.choice(jenis), "kabupaten": rng.choice(REGENCIES), "q": rng.choice(NAME_QUERIES)}
                if i % 3 == 1 else {"petugas": user.pk, "tahun": rng.choice(years), "page": rng.randrange(1, 5)}
                for i in range(requests)]

    client = Client()
    client.force_login(user)
    client.get("/hibah/cari/", {"q": "warm-up"})
    results = {}
    for kind, queries, expected in (("code", codes, 302), ("dpa", dpas, 200), ("name", names, 200),
                                    ("words", words, 200), ("code-prefix", prefixes, 200),
                                    ("dpa-prefix", dpa_prefixes, 200), ("filters", filtered, 200)):
        times = []
        for q in queries:
            params = q if isinstance(q, dict) else {"q": q}
            t0 = time.perf_counter()
            response = client.get("/hibah/cari/", params)
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != expected:
                raise SystemExit(f"{kind} query {q!r}: HTTP {response.status_code}")
        results[kind] = {"n": len(times), "median": statistics.median(times), "p95": p95(times)}
    return {"seconds_to_seed": seeded, "grants": Grant.objects.count(), "results": results}


# ---------------------------------------------------------------- parent: one subprocess per engine


def run(argv) -> int:
    size = int(option(argv, "size", "100000"))
    requests = int(option(argv, "requests", "200"))
    failures = 0
    for engine, data in per_engine("bench.search", argv, [f"--size={size}", f"--requests={requests}"],
                                   f"seeding {size} grants, {requests} requests per query type"):
        if data is None:
            failures += 1
            continue
        print(f"   seeded {data['grants']} grants in {data['seconds_to_seed']:.1f} s")
        for kind, r in data["results"].items():
            verdict = "PASS" if r["p95"] < TARGET_MS else "FAIL"
            failures += verdict == "FAIL"
            print(f"   {engine:8} {kind:11} n={r['n']:4}  median {r['median']:7.2f} ms  p95 {r['p95']:7.2f} ms  "
                  f"{verdict} (p95 < {TARGET_MS:.0f} ms)", flush=True)
    return 1 if failures else 0


def main(argv) -> int:
    if "--child" in argv:
        result = child(int(option(argv, "size", "100000")), int(option(argv, "requests", "200")))
        Path(option(argv, "out", "result.json")).write_text(json.dumps(result))
        return 0
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
