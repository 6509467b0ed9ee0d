"""What live screens cost the server: 50 open Pesan dialogs polling at the real interval (issue 14).

Each engine runs in its own child process on a throwaway database (bench._harness). The child seeds 50 busy
threads among 1,000 (20,000 messages), starts the web server as `manage.py serve` does (waitress, 8 threads) with
production settings (DEBUG off, a SECRET_KEY; plain HTTP on 127.0.0.1, so no TLS redirect; the polls render no
static URL, so no collectstatic into the shared var/static), signs in 50 staff sessions and opens one dialog each (the thread partial, as htmx loads it). Then:

1. idle: the server with no request for IDLE_SECONDS: its CPU% (user + system time / wall time, from /proc);
2. unchanged: 50 dialogs poll every POLL_SECONDS (the real interval, staggered) for DURATION_SECONDS; nothing
   changes, so every poll is the no-change path (204 after one small query);
3. changing: the same while an institution replies in one of the 50 threads every second (as the worker stores
   an inbound SMS): the dialogs that see a change get their thread again (200) and poll on with the new
   fingerprint, as htmx does.

Reported per phase: requests/s, mean and p95 latency of the poll (client side, keep-alive connections as a
browser keeps them), the status codes, and the server's CPU% next to the idle figure measured in the same run.
The machine's other load shows in the idle figure; the difference is what the polls cost.

Usage: ``python -m bench live`` (``--engine=sqlite|postgres``, ``--dialogs=50``, ``--seconds=30``).
"""

import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench._harness import BASE_DIR, option, per_engine

DIALOGS = 50
DURATION_SECONDS = 30
IDLE_SECONDS = 10
PORT = 8121  # helper H3's range (8121-8129); --port= to change
TARGET_P95_MS = 50  # the no-change poll
TARGET_CPU_PER_DIALOG = 0.5  # server CPU % per open dialog, above idle (50 dialogs: at most 25 % of one core)
SECRET_KEY = "bench-live-not-a-secret-" + "x" * 40  # noqa: S105 - a throwaway database's server
POLL = re.compile(r'hx-get="([^"]*/utas/\?since=\d*&amp;v=[0-9a-f]+)"')


# ---------------------------------------------------------------- child


def _seed(dialogs: int):
    """1,000 threads, 20,000 messages; the first `dialogs` threads are the open ones. A staff member per dialog."""
    from django.db import transaction
    from django.utils import timezone

    from abah.accounts.models import User
    from abah.sms.models import Conversation, Message

    rng = random.Random(14)  # noqa: S311 - synthetic data
    now = timezone.now()
    with transaction.atomic():
        threads = Conversation.objects.bulk_create(
            Conversation(party_type="bench.party", party_id=str(i), title=f"Yayasan Bench {i:04d}",
                         number=f"+62812{i:08d}") for i in range(1, 1001))
        rows = []
        for i in range(20_000):
            thread = threads[i % dialogs] if i % 4 == 0 else threads[rng.randrange(len(threads))]
            inbound = rng.random() < 0.15
            rows.append(Message(direction="in" if inbound else "out", number=thread.number, conversation=thread,
                                text=f"Pesan bench nomor {i}", kind="reply" if inbound else "invitation",
                                status="received" if inbound else rng.choice(["delivered"] * 8 + ["failed", "sent"]),
                                created_at=now))
        Message.objects.bulk_create(rows, batch_size=2000)
        staff = [User.objects.create_user(f"bench{i:02d}", email=f"bench{i:02d}@example.test", password=None,
                                          role="petugas", first_name="Bench", last_name=str(i), is_active=True,
                                          approved_at=now, phone=f"+628131{i:07d}", phone_verified_at=now)
                 for i in range(dialogs)]
    return threads[:dialogs], staff


def _sessions(staff) -> list[str]:
    """A signed-in session per staff member, stored as a login stores it (the server reads it from the DB)."""
    from django.test import Client

    cookies = []
    for user in staff:
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return cookies


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Dialog(threading.Thread):
    """One open Pesan dialog: a keep-alive connection, polling its thread every `interval` seconds."""

    def __init__(self, port, cookie, url, interval, start_at, stop_at):
        super().__init__(daemon=True)
        self.port, self.cookie, self.url = port, cookie, url
        self.interval, self.start_at, self.stop_at = interval, start_at, stop_at
        self.samples: list[tuple[int, float]] = []  # (status, ms)

    def get(self, conn, url):
        conn.request("GET", url, headers={"Cookie": f"sessionid={self.cookie}", "HX-Request": "true",
                                          "HX-Target": "sms-thread", "Host": "127.0.0.1"})
        response = conn.getresponse()
        return response.status, response.read().decode()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        tick = self.start_at
        while tick < self.stop_at:
            time.sleep(max(0.0, tick - time.monotonic()))
            started = time.perf_counter()
            try:
                status, body = self.get(conn, self.url)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                status, body = 0, ""
            self.samples.append((status, (time.perf_counter() - started) * 1000))
            if status == 200:  # the thread changed: htmx swaps it in and polls on with its new fingerprint
                found = POLL.search(body)
                if found:
                    self.url = found.group(1).replace("&amp;", "&")
            tick += self.interval
        conn.close()


def _open_dialogs(port, cookies, threads) -> list[str]:
    """Each dialog's first poll URL, as the dialog renders it (GET the thread, read its hx-get)."""
    from django.urls import reverse

    urls = []
    for cookie, thread in zip(cookies, threads, strict=True):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", reverse("sms:conversation_thread", args=[thread.pk]),
                     headers={"Cookie": f"sessionid={cookie}", "HX-Request": "true", "Host": "127.0.0.1"})
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        found = POLL.search(body)
        if response.status != 200 or not found:
            raise RuntimeError(f"the dialog did not open: HTTP {response.status} {body[:300]}")
        urls.append(found.group(1).replace("&amp;", "&"))
    return urls


def _phase(server_pid, port, cookies, urls, interval, seconds, writer=None) -> dict:
    now = time.monotonic()
    start, stop = now + 0.5, now + 0.5 + seconds
    dialogs = [Dialog(port, cookie, url, interval, start + interval * i / len(urls), stop)
               for i, (cookie, url) in enumerate(zip(cookies, urls, strict=True))]
    cpu_before, wall_before = _cpu_seconds(server_pid), time.monotonic()
    for dialog in dialogs:
        dialog.start()
    if writer:
        writer(stop)
    for dialog in dialogs:
        dialog.join()
    cpu = (_cpu_seconds(server_pid) - cpu_before) / (time.monotonic() - wall_before) * 100
    for dialog, i in zip(dialogs, range(len(urls)), strict=True):
        urls[i] = dialog.url
    samples = [s for dialog in dialogs for s in dialog.samples]
    by_status: dict[str, int] = {}
    for status, _ms in samples:
        by_status[str(status)] = by_status.get(str(status), 0) + 1

    def figures(times):
        times = sorted(times)
        if not times:
            return {"mean": 0.0, "p95": 0.0}
        return {"mean": statistics.fmean(times), "p95": times[min(len(times) - 1, int(0.95 * len(times)))]}

    return {"requests": len(samples), "per_second": len(samples) / seconds, "cpu_percent": cpu,
            "load": os.getloadavg()[0],
            "statuses": by_status, "all": figures([ms for _s, ms in samples]),
            "unchanged": figures([ms for s, ms in samples if s == 204]),
            "changed": figures([ms for s, ms in samples if s == 200])}


def child(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["SECRET_KEY"] = SECRET_KEY  # the server's: the sessions signed in here must hold there
    from bench.sms_worker import child_setup

    child_setup()
    from django.db import connection

    from abah.sms import services
    from abah.sms.views import POLL_SECONDS

    dialogs = int(option(argv, "dialogs", str(DIALOGS)))
    seconds = float(option(argv, "seconds", str(DURATION_SECONDS)))
    port = int(option(argv, "port", str(PORT)))
    threads, staff = _seed(dialogs)
    cookies = _sessions(staff)
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "0", "AXES_ENABLED": "0", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}", "--threads=8", "--ident=abah",
         "config.wsgi:application"], cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the web server did not start") from None
                time.sleep(0.2)
        urls = _open_dialogs(port, cookies, threads)
        time.sleep(2)  # what opening them cost settles
        cpu_before, wall_before = _cpu_seconds(server.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        idle = (_cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - wall_before) * 100
        idle_load = os.getloadavg()[0]
        print(f"  idle server: {idle:.1f} % CPU", flush=True)
        unchanged = _phase(server.pid, port, cookies, urls, POLL_SECONDS, seconds)
        print(f"  {dialogs} dialogs, nothing changes: {unchanged['per_second']:.1f} req/s, "
              f"{unchanged['cpu_percent']:.1f} % CPU", flush=True)
        rng = random.Random(1)  # noqa: S311

        def replies(stop):  # an institution replies in one of the open threads every second
            n = 0
            while time.monotonic() < stop - 0.5:
                thread = threads[rng.randrange(len(threads))]
                services.receive_message(number=thread.number, text=f"Balasan bench {n}")
                n += 1
                time.sleep(1)

        changing = _phase(server.pid, port, cookies, urls, POLL_SECONDS, seconds, writer=replies)
        print(f"  {dialogs} dialogs, a reply a second: {changing['per_second']:.1f} req/s, "
              f"{changing['cpu_percent']:.1f} % CPU", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    result = {"engine": connection.vendor, "dialogs": dialogs, "interval": POLL_SECONDS, "seconds": seconds,
              "idle_cpu_percent": idle, "idle_load": idle_load, "cores": os.cpu_count(), "unchanged": unchanged, "changing": changing}
    Path(option(argv, "out", "/dev/stdout")).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------- parent


def run(argv: list[str]) -> int:
    dialogs = option(argv, "dialogs", str(DIALOGS))
    args = [f"--dialogs={dialogs}", f"--seconds={option(argv, 'seconds', str(DURATION_SECONDS))}",
            f"--port={option(argv, 'port', str(PORT))}"]
    failures = 0
    heading = f"{dialogs} open Pesan dialogs polling against waitress (production settings)"
    for engine, data in per_engine("bench.live", argv, args, heading):
        if data is None:
            failures += 1
            continue
        idle = data["idle_cpu_percent"]
        print(f"  {engine}: one poll every {data['interval']} s per dialog; idle server, measured in the same run: "
              f"{idle:.1f} % CPU (machine load average {data['idle_load']:.1f} on {data['cores']} cores: latencies "
              f"include waiting for a core)")
        for name in ("unchanged", "changing"):
            phase = data[name]
            extra = phase["cpu_percent"] - idle
            print(f"  {name:<9} {phase['per_second']:5.1f} req/s  poll mean {phase['all']['mean']:6.1f} ms  "
                  f"p95 {phase['all']['p95']:6.1f} ms  (204: mean {phase['unchanged']['mean']:.1f} / p95 "
                  f"{phase['unchanged']['p95']:.1f} ms; 200: mean {phase['changed']['mean']:.1f} / p95 "
                  f"{phase['changed']['p95']:.1f} ms)  server CPU {phase['cpu_percent']:5.1f} % "
                  f"(+{extra:.1f} % over idle)  statuses {phase['statuses']}  load {phase['load']:.1f}", flush=True)
        base = data["unchanged"]
        ok_latency = base["unchanged"]["p95"] < TARGET_P95_MS
        ok_cpu = base["cpu_percent"] - idle < TARGET_CPU_PER_DIALOG * data["dialogs"]
        ok_status = set(base["statuses"]) == {"204"}
        failures += 0 if ok_latency and ok_cpu and ok_status else 1
        print(f"  {engine}: no-change poll p95 {base['unchanged']['p95']:.1f} ms (target < {TARGET_P95_MS}) "
              f"{'PASS' if ok_latency else 'FAIL'}; CPU over idle {base['cpu_percent'] - idle:.1f} % (target < "
              f"{TARGET_CPU_PER_DIALOG * data['dialogs']:.0f} %) {'PASS' if ok_cpu else 'FAIL'}; only 204s "
              f"{'PASS' if ok_status else 'FAIL'}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2:]))
    sys.exit(run(sys.argv[1:]))
