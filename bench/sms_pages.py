"""UCP > Pesan and the Pesan dialog with 1,000,000 messages in the database, on SQLite and PostgreSQL.

Each engine runs in its own subprocess against a throwaway database (see bench.sms_worker). The child seeds
the messages with bulk SQL (COPY on PostgreSQL, multi-row INSERTs on SQLite), analyses the tables as
autovacuum / a periodic ANALYZE would, then measures the server time of each page through Django's test
client (the whole request: middleware, session, views, templates), after a warm-up.

Targets (p95): UCP > Pesan under 150 ms, the Pesan dialog under 50 ms.
Usage: ``python -m bench sms_pages`` (``--messages=N`` for a smaller run).
"""

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from bench._harness import postgres_reachable
from bench.sms_worker import run_child

MESSAGES = 1_000_000
THREADS = 10_000
TARGET_LIST_MS = 150
TARGET_DIALOG_MS = 50
ROUNDS = 40  # measured requests per page (after the warm-up)

WORDS = ("Yth Bpk/Ibu undangan penandatanganan NPHD hibah tanggal dana Tahap pencairan sudah ditransfer "
         "ke rekening lembaga mohon segera menyampaikan laporan SPJ LPJ terima kasih kantor Biro Kesra "
         "Setdaprov Jawa Timur Surabaya pukul WIB hadir membawa stempel asli").split()


# ---------------------------------------------------------------- child: seed


def seed(count: int, threads: int) -> dict:
    """Conversations and `count` messages, oldest first (ids grow with time), in chunks of bulk SQL."""
    from django.db import connection, transaction

    from abah.accounts.models import User
    from abah.sms.dbutil import db_datetime, insert_rows
    from abah.sms.models import Conversation, Message

    rng = random.Random(2018)  # noqa: S311 - synthetic data
    now = datetime.now(UTC)
    staff = User.objects.create_user("bench-petugas", email="bench@example.test", password=None, role="petugas",
                                     first_name="Bench", last_name="Petugas", is_active=True, approved_at=now,
                                     phone="+6281230900012", phone_verified_at=now)
    start = now - timedelta(days=3 * 365)
    conv_rows = []
    for i in range(1, threads + 1):
        conv_rows.append(("bench.party", str(i), f"Yayasan Bench {i:05d} {rng.choice(WORDS).title()}",
                          f"+62812{i:08d}", 0, 0, None, db_datetime(start), db_datetime(start)))
    with transaction.atomic():
        insert_rows(Conversation, ["party_type", "party_id", "title", "number", "message_count", "inbound_count",
                                   "last_message_at", "created_at", "updated_at"], conv_rows)
    conv_ids = list(Conversation.objects.order_by("id").values_list("id", flat=True))
    # A few busy threads (thousands of messages), the rest shared by the remaining threads.
    busy = conv_ids[:5]
    fields = ["direction", "number", "text", "encoding", "segments", "kind", "priority", "status", "conversation_id",
              "sender_id", "meta", "next_attempt_at", "attempts", "worker", "gateway", "error_code",
              "error_reason", "created_at", "queued_at", "sent_at", "delivered_at", "failed_at"]
    kinds = ["invitation"] * 20 + ["disbursement"] * 20 + ["billing"] * 15 + ["manual"] * 20 + ["broadcast"] * 15 \
        + ["code"] * 5 + ["notification"] * 5
    step = (now - start) / count
    chunk = 50_000
    started = time.perf_counter()
    for base in range(0, count, chunk):
        rows = []
        for i in range(base, min(count, base + chunk)):
            at = start + step * i
            stamp = db_datetime(at)
            roll = rng.random()
            if roll < 0.02:
                conv = busy[i % len(busy)]
            elif roll < 0.90:
                conv = conv_ids[rng.randrange(len(conv_ids))]
            else:
                conv = None
            inbound = rng.random() < 0.12
            number = f"+62812{conv:08d}" if conv else f"+62813{rng.randrange(10**8):08d}"
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(6, 30)))
            if inbound:
                rows.append(("in", number, text, "GSM-7", 1, "reply", 0, "received", conv, None, "{}", stamp, 0, "",
                             "default", "", "", stamp, None, None, stamp, None))
                continue
            kind = kinds[i % len(kinds)]
            outcome = rng.random()
            if i > count - 200:
                status, sent, delivered, failed = "queued", None, None, None
            elif outcome < 0.05:
                status, sent, delivered, failed = "failed", stamp, None, stamp
            else:
                status, sent, delivered, failed = "delivered", stamp, stamp, None
            code, reason = ("absent_subscriber", "Absent subscriber") if status == "failed" else ("", "")
            sender = staff.pk if kind == "manual" else None
            rows.append(("out", number, text, "GSM-7", 1, kind, 50, status, conv, sender, "{}", stamp,
                         0 if status == "queued" else 1, "", "" if status == "queued" else "default", code, reason,
                         stamp, stamp, sent, delivered, failed))
        with transaction.atomic():
            insert_rows(Message, fields, rows)
    seeded = time.perf_counter() - started
    # Thread counters, as queue_message / receive_message keep them, in one statement per engine.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sms_conversation SET message_count = c.n, inbound_count = c.i, last_message_at = c.last "
            "FROM (SELECT conversation_id, COUNT(*) AS n, SUM(CASE WHEN direction = 'in' THEN 1 ELSE 0 END) AS i, "
            "MAX(created_at) AS last FROM sms_message WHERE conversation_id IS NOT NULL GROUP BY conversation_id) c "
            "WHERE sms_conversation.id = c.conversation_id"
        )
    analyse()
    return {"seed_seconds": round(seeded, 1), "messages": Message.objects.count(), "threads": len(conv_ids),
            "busy": busy, "staff": staff.pk}


def analyse() -> None:
    """What a running system has done by the time anyone searches: the SMS worker has moved every new message
    into the search index (sms.search.flush), and autovacuum has vacuumed and analysed the tables."""
    from django.db import connection

    from abah.sms import search

    while search.flush(limit=100_000):
        pass
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("sms_message", "sms_conversation", "sms_message_doc", "sms_message_doc_tail"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


# ---------------------------------------------------------------- child: measure


def timed(client, url: str, params: dict | None = None, **headers) -> float:
    started = time.perf_counter()
    response = client.get(url, params or {}, **headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params}: HTTP {response.status_code}")
    return elapsed


def measure(client, url_of, params_of, rounds: int, **headers) -> dict:
    for i in range(3):  # warm-up: templates compiled, caches and the database's pages warm
        timed(client, url_of(i), params_of(i), **headers)
    times = sorted(timed(client, url_of(i), params_of(i), **headers) for i in range(rounds))
    return {"median": statistics.median(times), "p95": times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)],
            "max": times[-1]}


def child(argv: list[str]) -> int:
    from bench.sms_worker import child_setup

    child_setup()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from abah.accounts.models import User
    from abah.sms.models import Conversation, Message

    count = int(argv[0]) if argv else MESSAGES
    if Message.objects.exists():  # a database kept from an earlier run (DATABASE_URL given by hand)
        info = {"seed_seconds": 0, "messages": Message.objects.count(), "threads": Conversation.objects.count(),
                "busy": list(Conversation.objects.order_by("id").values_list("id", flat=True)[:5]),
                "staff": User.objects.get(username="bench-petugas").pk}
    else:
        info = seed(count, min(THREADS, max(10, count // 100)))
    client = Client()
    client.force_login(User.objects.get(pk=info["staff"]))
    rng = random.Random(7)  # noqa: S311
    list_url = reverse("sms:message_list")
    max_id = Message.objects.order_by("-id").values_list("id", flat=True).first()
    thread_ids = list(Conversation.objects.order_by("?").values_list("id", flat=True)[:ROUNDS + 3])
    some_number = Conversation.objects.get(pk=thread_ids[0]).number
    today = datetime.now(UTC).date()
    hx = {"HTTP_HX_REQUEST": "true"}
    pages = {
        "list": (list_url, lambda i: {}),
        "list, older page": (list_url, lambda i: {"before": str(rng.randrange(max_id // 2, max_id))}),
        "list, direction=in": (list_url, lambda i: {"direction": "in"}),
        "list, status=failed": (list_url, lambda i: {"status": "failed"}),
        "list, kind=billing": (list_url, lambda i: {"kind": "billing"}),
        "list, gateway": (list_url, lambda i: {"gateway": "default"}),
        "list, last 7 days": (list_url, lambda i: {"from": (today - timedelta(days=7)).isoformat(),
                                                    "to": today.isoformat()}),
        "list, number search": (list_url, lambda i: {"q": some_number}),
        "list, common word": (list_url, lambda i: {"q": rng.choice(WORDS)}),
        "list, institution": (list_url, lambda i: {"q": "Yayasan Bench 0001"}),
        "list, rare text": (list_url, lambda i: {"q": "zzzz tidak ada"}),
        "list, 3-word phrase": (list_url, lambda i: {"q": " ".join(rng.sample(WORDS, 3))}),  # common words, rare
    }
    results = {}
    for name, (url, params) in pages.items():
        results[name] = measure(client, lambda i, url=url: url, params, ROUNDS)
    dialog = reverse("sms:conversation_dialog", args=[0]).replace("/0/", "/{}/")
    thread = reverse("sms:conversation_thread", args=[0]).replace("/0/", "/{}/")
    results["dialog"] = measure(client, lambda i: dialog.format(thread_ids[i]), lambda i: {}, ROUNDS, **hx)
    results["dialog, busy thread"] = measure(client, lambda i: dialog.format(info["busy"][i % 5]), lambda i: {},
                                             ROUNDS, **hx)
    results["dialog poll (thread)"] = measure(client, lambda i: thread.format(thread_ids[i]), lambda i: {}, ROUNDS,
                                              **hx)
    print(json.dumps({"engine": connection.vendor, **info, "pages": results}))
    return 0


# ---------------------------------------------------------------- parent


def target_of(name: str) -> int:
    return TARGET_DIALOG_MS if name.startswith("dialog") else TARGET_LIST_MS


def run(argv: list[str]) -> int:
    count = MESSAGES
    for arg in argv:  # `python -m bench sms_pages --messages=100000` (bench passes on only the dashed arguments)
        if arg.startswith("--messages="):
            count = int(arg.split("=", 1)[1])
    engines = ["sqlite"] + (["postgres"] if postgres_reachable() else [])
    if "postgres" not in engines:
        print("PostgreSQL not reachable on 127.0.0.1:5432: measuring SQLite only")
    failures = 0
    for engine in engines:
        started = time.monotonic()
        result = run_child("bench.sms_pages", engine, [str(count)], timeout=3600)
        if result is None:
            print(f"{engine}: FAIL (the benchmark did not finish)")
            failures += 1
            continue
        print(f"{engine}: {result['messages']:,} messages in {result['threads']:,} threads, seeded in "
              f"{result['seed_seconds']} s (run {time.monotonic() - started:.0f} s); server time per page, ms:")
        for name, figures in result["pages"].items():
            target = target_of(name)
            ok = figures["p95"] < target
            failures += 0 if ok else 1
            print(f"  {name:<24} median {figures['median']:7.1f}  p95 {figures['p95']:7.1f}  max {figures['max']:7.1f}"
                  f"  (p95 target < {target}) {'PASS' if ok else 'FAIL'}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2:]))
    sys.exit(run(sys.argv[1:]))
