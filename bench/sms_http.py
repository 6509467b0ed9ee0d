"""HTTP gateway throughput: our worker + HttpBackend (Twilio preset) against a local peer that follows Twilio's
Messages API (bench/peer/twilio.js), with every delivery report coming back through our callback URL.

`python -m bench sms_http [--n=3000] [--engines=sqlite,postgresql] [--concurrency=8] [--final-only]`

For each engine: a fresh database with N verification codes queued (a kind the send window never holds); the web
server (waitress, 8 threads, production settings) serving /sms/callback/; one worker (`manage.py smsd`) sending
through the peer with ``concurrency`` requests in flight. The peer answers each request with 201 and, 5 ms later,
posts the StatusCallback "sent" and "delivered" (Twilio's own sequence; ``--final-only``: only "delivered"),
signed with X-Twilio-Signature, which our web server checks and stores and the worker applies. Timed from the
peer's first send request to the moment every message is DELIVERED in our database. Target: ≥ 500 messages per
second on both engines. Every process listens on 127.0.0.1 and is stopped by its PID.
"""

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from bench.sms_gateways import free_port, fresh_database, stop

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "bench" / "peer"
TARGET_RATE = 500.0
ACCOUNT = "AC" + "b" * 32
TOKEN = "bench-auth-token"  # noqa: S105 - the local peer's, not a secret
CALLBACK_TOKEN = "bench-callback-token"  # noqa: S105


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def _delivered(database_url: str) -> int:
    query = "SELECT count(*) FROM sms_message WHERE status = 'delivered'"
    if database_url.startswith("sqlite"):
        with sqlite3.connect(urlparse(database_url).path, timeout=30) as conn:
            return conn.execute(query).fetchone()[0]
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute(query).fetchone()[0]


def prepare(n: int) -> None:
    """In a subprocess with the bench's environment: migrate, queue n verification codes."""
    import django

    django.setup()
    from django.core.management import call_command

    from abah.sms import services

    call_command("migrate", verbosity=0)
    for start in range(0, n, 1000):
        services.queue_messages([{"to": f"+62813{i:07d}", "text": f"Kode verifikasi Anda {i:06d}", "kind": "code"}
                                 for i in range(start, min(n, start + 1000))])


def run_engine(engine: str, n: int, concurrency: int, final_only: bool, workdir: Path) -> dict:
    database_url, cleanup = fresh_database(engine, workdir)
    web_port, peer_port = free_port(), free_port()
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "bench-" + "x" * 50, "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "0", "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           "LOG_LEVEL": "WARNING", "SMS_TWILIO_AUTH_TOKEN": TOKEN, "SMS_CALLBACK_TOKEN": CALLBACK_TOKEN,
           "SMS_GATEWAYS": json.dumps({"aggregator": {"BACKEND": "abah.sms.backends.http.HttpBackend", "OPTIONS": {
               "preset": "twilio", "account": ACCOUNT, "sender": "+15005550006", "concurrency": concurrency,
               "url": f"http://127.0.0.1:{peer_port}/2010-04-01/Accounts/{{account}}/Messages.json",
               "public_url": f"http://127.0.0.1:{web_port}"}}})}
    env.pop("TEST_DATABASE_NAME", None)
    procs = {}
    first = {}
    try:
        subprocess.run([sys.executable, "-m", "bench.sms_http", "--prepare", str(n)], cwd=ROOT, env=env, check=True,
                       timeout=600)
        procs["peer"] = subprocess.Popen(["node", str(PEER / "twilio.js"), str(peer_port), ACCOUNT, TOKEN, "5",
                                          "1" if final_only else "0"], stdout=subprocess.PIPE,
                                         stderr=open(workdir / "peer.log", "w"), text=True)  # noqa: SIM115
        if not procs["peer"].stdout.readline().startswith("READY"):
            raise RuntimeError("the Twilio peer did not start")

        def read_first():
            for line in procs["peer"].stdout:
                if line.startswith("FIRST ") and "at" not in first:
                    first["at"] = float(line.split()[1])

        threading.Thread(target=read_first, daemon=True).start()
        procs["web"] = subprocess.Popen([sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={web_port}",
                                         "--threads=8", "config.wsgi:application"], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=open(workdir / "web.log", "w"))  # noqa: SIM115
        _wait_port(web_port)
        procs["worker"] = subprocess.Popen([sys.executable, "manage.py", "smsd", "--gateway", "aggregator",
                                            "--interval", "0.05"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                           stderr=open(workdir / "worker.log", "w"))  # noqa: SIM115
        deadline = time.monotonic() + 300
        delivered, done_at = 0, None
        while time.monotonic() < deadline:
            delivered = _delivered(database_url)
            if delivered >= n:
                done_at = time.time()
                break
            time.sleep(0.05)
        if done_at is None or "at" not in first:
            tail = (workdir / "worker.log").read_text()[-1500:]
            raise RuntimeError(f"{delivered}/{n} delivered in 300 s\n{tail}")
        seconds = done_at - first["at"]
        return {"delivered": delivered, "seconds": seconds, "rate": delivered / seconds}
    finally:
        for name in ("worker", "web", "peer"):
            if name in procs:
                stop(procs[name], name)
        cleanup()


def run(argv: list[str]) -> int:
    args = {"--n": "3000", "--engines": "sqlite,postgresql", "--concurrency": "8"}
    for arg in argv:
        key, _, value = arg.partition("=")
        args[key] = value or "1"
    n, concurrency, final_only = int(args["--n"]), int(args["--concurrency"]), "--final-only" in args
    if not shutil.which("node"):
        print("  node not found (apt-get install nodejs): not measured")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="abah-bench-http-"))
    ok = True
    callbacks = "1 callback (delivered)" if final_only else "2 callbacks (sent, delivered)"
    print(f"  {n} messages, {concurrency} requests in flight, {callbacks} per message through our callback URL")
    try:
        for engine in [e for e in args["--engines"].split(",") if e]:
            try:
                result = run_engine(engine, n, concurrency, final_only, workdir)
            except Exception as error:
                print(f"  ours on {engine}: FAILED to run ({error})")
                ok = False
                continue
            good = result["delivered"] == n and result["rate"] >= TARGET_RATE
            ok = ok and good
            print(f"  ours on {engine:<10} (smsd + HttpBackend twilio, web: waitress ×8): {result['delivered']}/{n} "
                  f"DELIVERED in {result['seconds']:.2f} s = {result['rate']:,.0f} msg/s  [{'PASS' if good else 'FAIL'}]")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"  target: ≥{TARGET_RATE:,.0f} msg/s with the callbacks applied, on every engine → {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--prepare":
        prepare(int(sys.argv[2]))
    else:
        from bench.__main__ import main

        sys.exit(main(["sms_http", *sys.argv[1:]]))
