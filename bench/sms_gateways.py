"""SMPP throughput: our worker + SmppBackend vs Kannel (bearerbox + smsbox) against the same local npm-smpp SMSC.

Both are timed the same way, from the first submit_sm on the wire (the peer's own clock; each system gets a
fresh peer) to the last delivery receipt applied, with all N messages waiting before the first submit:
ours queued in the database (a fresh SQLite file and a fresh PostgreSQL database) until the last Message is
DELIVERED; Kannel given them through HTTP sendsms (16 connections) while its SMSC is not up yet (bearerbox
queues them), asking for final receipts only (dlr-mask 1+2+16: delivered, failed, rejected), until the last
dlr-url callback. Options: --n=5000, --engines=sqlite,postgresql, --window=64, --no-kannel, --gammu-n=10,
--no-gammu. Gammu SMSD (a real gammu-smsd, dummy modem) is measured too, from queued to sent by the modem:
it is bounded by the modem (~1 msg/s), not a target.
Everything listens on 127.0.0.1; every process started here is stopped by its PID.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "bench" / "peer"
TARGET_RATE = 2000.0
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(proc, name, grace=15.0):
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        print(f"  {name} ignored SIGTERM for {grace:.0f} s: SIGKILL")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# ---------------------------------------------------------------- the SMSC peer (npm smpp)


class Peer:
    """The npm smpp SMSC (peer/smsc.js) on 127.0.0.1:``port``; ``first`` is the Unix time of the first submit_sm
    it received (its own clock), once one came."""

    def __init__(self, workdir: Path, port: int | None = None):
        if not (PEER / "node_modules" / "smpp").exists():
            print("  npm ci in bench/peer …")
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEER, check=True, timeout=300)
        self.port = port or free_port()
        self.first: float | None = None
        self.log = open(workdir / f"peer-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(["node", str(PEER / "smsc.js"), str(self.port), "5"], stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"the npm smpp peer did not start: {line!r}")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("FIRST ") and self.first is None:
                self.first = float(line.split()[1])

    def stop(self) -> None:
        stop(self.proc, "npm smpp peer")
        self.log.close()


# ---------------------------------------------------------------- ours


def fresh_database(engine: str, workdir: Path):
    """(DATABASE_URL, cleanup) for a new, empty database."""
    if engine == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        return f"sqlite:///{path}", lambda: None
    import psycopg

    url = urlparse(PG_URL)
    name = f"abah_bench_{uuid.uuid4().hex[:10]}"
    admin = f"host={url.hostname} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    if url.password:
        admin += f" password={url.password}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    netloc = url.netloc
    return f"{url.scheme}://{netloc}/{name}", drop


def run_ours(engine: str, n: int, window: int, workdir: Path) -> dict:
    peer = Peer(workdir)
    port = peer.port
    database_url, cleanup = fresh_database(engine, workdir)
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           "SMS_GATEWAY_BACKEND": "abah.sms.backends.smpp.SmppBackend",
           "SMS_GATEWAY_OPTIONS": json.dumps({"host": "127.0.0.1", "port": port, "system_id": "abah",
                                              "window": window, "source_addr": "ABAH"}),
           "SMS_SMPP_PASSWORD": "bench"}
    env.pop("TEST_DATABASE_NAME", None)
    try:
        out = subprocess.run([sys.executable, "-m", "bench.sms_gateways", "--worker", str(n)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"worker failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if peer.first is None:
            raise RuntimeError("the peer saw no submit_sm")
        result["seconds"] = result["ended_at"] - peer.first  # first submit_sm on the wire → last receipt applied
        result["rate"] = result["delivered"] / result["seconds"]
        return result
    finally:
        peer.stop()
        cleanup()


def worker(n: int) -> None:
    """In a subprocess with DATABASE_URL set: migrate, queue n, run the worker until n are DELIVERED."""
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    # Measure like production: DEBUG=1 only lets the child start without a secret key; with it on, Django would
    # format every statement for its query log (a third of the worker's time on SQLite).
    settings.DEBUG = False
    from abah.sms import services
    from abah.sms.daemon import Daemon
    from abah.sms.models import Message

    call_command("migrate", verbosity=0)
    for start in range(0, n, 1000):
        services.queue_messages([{"to": f"+62812{i:07d}", "text": f"Kode verifikasi Anda {i:06d}", "kind": "code"}
                                 for i in range(start, min(n, start + 1000))])
    daemon = Daemon(batch_size=500, interval=0.01)
    daemon.backend.open()
    started = time.perf_counter()
    delivered = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        daemon.tick(drain=True)
        delivered = Message.objects.filter(status=Message.Status.DELIVERED).count()
        if delivered >= n:
            break
        time.sleep(0.002)
    ended_at = time.time()  # the last receipt is applied (the parent times from the peer's first submit_sm)
    seconds = time.perf_counter() - started
    stats = dict(daemon.backend.stats)
    daemon.backend.close()
    print(json.dumps({"n": n, "delivered": delivered, "seconds": seconds, "ended_at": ended_at, "stats": stats}))


def run_gammu(n: int, workdir: Path) -> dict:
    """Our worker + GammuBackend into a real gammu-smsd (dummy modem driver, LoopSleep=1), in a subprocess."""
    database_url, cleanup = fresh_database("sqlite", workdir)
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("TEST_DATABASE_NAME", None)
    try:
        out = subprocess.run([sys.executable, "-m", "bench.sms_gateways", "--gammu-worker", str(n), str(workdir)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"gammu worker failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        cleanup()


def gammu_worker(n: int, workdir: Path) -> None:
    """Queue n messages for the modem and run the worker until gammu-smsd has sent them all (sentitems)."""
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    from abah.sms import services
    from abah.sms.daemon import Daemon
    from tests.sms.peers.gammu_peer import GammuPeer

    call_command("migrate", verbosity=0)
    (workdir / "gammu").mkdir(exist_ok=True)
    peer = GammuPeer(workdir / "gammu", "sqlite")
    peer.create_database()
    peer.start()
    try:
        settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                                           "OPTIONS": peer.options()}}
        daemon = Daemon(gateway="modem", batch_size=100, interval=0.05)
        daemon.backend.open()
        started = time.perf_counter()
        services.queue_messages([{"to": f"+62812{i:07d}", "text": f"Kode verifikasi {i:06d}", "kind": "code"}
                                 for i in range(n)])
        sent = 0
        deadline = time.monotonic() + 60 + 5 * n
        while time.monotonic() < deadline:
            daemon.tick(drain=True)
            sent = peer.query("SELECT COUNT(*) FROM sentitems WHERE \"Status\" = 'SendingOK'")[0][0]
            if sent >= n:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        daemon.backend.close()
    finally:
        peer.stop()
    print(json.dumps({"n": n, "sent": sent, "seconds": seconds, "rate": sent / seconds}))


# ---------------------------------------------------------------- Kannel


class _Callbacks(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: smsbox reuses its connections

    def do_GET(self):  # noqa: N802 (http.server API)
        query = parse_qs(urlparse(self.path).query)
        status = int(query.get("status", ["0"])[0])
        server = self.server
        if status in (1, 2, 16):  # final: delivered, failed, rejected
            with server.lock:
                server.final.add(query.get("id", [""])[0])
                server.last = time.time()
                if len(server.final) >= server.expected:
                    server.done.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class _CallbackServer(ThreadingHTTPServer):
    # smsbox fires callbacks in bursts: the default backlog of 5 made it see "connection reset" and drop them.
    request_queue_size = 4096
    daemon_threads = True


def kannel_config(workdir: Path, smsc_port: int) -> tuple[Path, int]:
    admin, box, sendsms = free_port(), free_port(), free_port()
    conf = workdir / "kannel.conf"
    conf.write_text(f"""group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = bench
status-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{workdir}/bearerbox.log"
log-level = 1
access-log = "{workdir}/access.log"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = kannel
smsc-password = bench
system-type = ""
max-pending-submits = 64
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{workdir}/smsbox.log"
log-level = 1

group = sendsms-user
username = tester
password = bench
concatenation = true
max-messages = 10

group = sms-service
keyword = default
text = "unused"
max-messages = 0
""")
    return conf, sendsms


def run_kannel(n: int, workdir: Path, connections: int = 16) -> dict:
    if not shutil.which("bearerbox"):
        print("  installing Debian's kannel …")
        subprocess.run(["apt-get", "install", "-y", "-qq", "kannel"], check=True, timeout=600,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, capture_output=True)
    smsc_port = free_port()  # its peer starts once every message waits in bearerbox
    conf, sendsms = kannel_config(workdir, smsc_port)
    callbacks = _CallbackServer(("127.0.0.1", 0), _Callbacks)
    callbacks.lock, callbacks.final, callbacks.expected = threading.Lock(), set(), n
    callbacks.done, callbacks.last = threading.Event(), 0.0
    threading.Thread(target=callbacks.serve_forever, daemon=True).start()
    cb_port = callbacks.server_address[1]
    bearer = subprocess.Popen(["bearerbox", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    smsbox = peer = None
    try:
        time.sleep(1.0)
        smsbox = subprocess.Popen(["smsbox", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):  # bounded: wait for sendsms to listen
            try:
                socket.create_connection(("127.0.0.1", sendsms), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        errors = []

        def sender(ids):
            conn = HTTPConnection("127.0.0.1", sendsms, timeout=30)
            for i in ids:
                dlr = f"http://127.0.0.1:{cb_port}/dlr?id={i}&status=%d"
                query = urlencode({"username": "tester", "password": "bench", "from": "ABAH",
                                   "to": f"+62812{i:07d}", "text": f"Kode verifikasi Anda {i:06d}",
                                   "dlr-mask": "19"}) + "&dlr-url=" + quote(dlr, safe="")
                conn.request("GET", f"/cgi-bin/sendsms?{query}")
                response = conn.getresponse()
                body = response.read()
                if response.status not in (200, 202):
                    errors.append(body[:100])
            conn.close()

        threads = [threading.Thread(target=sender, args=(range(k, n, connections),)) for k in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        peer = Peer(workdir, smsc_port)  # bearerbox binds within its reconnect-delay (1 s) and starts submitting
        quiet_since = time.time()
        for _ in range(600):  # bounded: until every receipt came back, or none for 30 s
            if callbacks.done.wait(timeout=1.0):
                break
            with callbacks.lock:
                if callbacks.last > quiet_since:
                    quiet_since = callbacks.last
            if time.time() - quiet_since > 30:
                print(f"  Kannel: no receipt callback for 30 s, {len(callbacks.final)}/{n} arrived")
                break
        with callbacks.lock:
            final, last = len(callbacks.final), callbacks.last
        if peer.first is None or not last:
            raise RuntimeError(f"Kannel sent nothing to the peer ({len(errors)} sendsms errors)")
        seconds = last - peer.first  # first submit_sm on the wire → last final receipt callback
        return {"n": n, "delivered": final, "seconds": seconds, "rate": final / seconds, "errors": len(errors)}
    finally:
        stop(smsbox, "smsbox")
        stop(bearer, "bearerbox")  # before the peer: with its peer gone it ignores SIGTERM for a while
        if peer is not None:
            peer.stop()
        callbacks.shutdown()


# ---------------------------------------------------------------- entry point


def run(argv: list[str]) -> int:
    args = {"--n": "5000", "--engines": "sqlite,postgresql", "--window": "64", "--gammu-n": "10"}
    for arg in argv:
        key, _, value = arg.partition("=")
        args[key] = value or "1"
    n, window = int(args["--n"]), int(args["--window"])
    engines = [e for e in args["--engines"].split(",") if e]
    workdir = Path(tempfile.mkdtemp(prefix="abah-bench-gw-"))
    results, ok = {}, True
    print("  timed from the first submit_sm on the wire to the last receipt applied; every message waits before the first")
    try:
        kannel = None
        if "--no-kannel" not in args:
            kannel = run_kannel(n, workdir)
            print(f"  Kannel 1.4 (bearerbox+smsbox, queued through HTTP sendsms before its SMSC binds, dlr-mask 1+2+16, "
                  f"dlr-url): {kannel['delivered']}/{n} receipts in {kannel['seconds']:.2f} s = "
                  f"{kannel['rate']:,.0f} msg/s")
        for engine in engines:
            try:
                ours = run_ours(engine, n, window, workdir)
            except Exception as error:
                print(f"  ours on {engine}: FAILED to run ({error})")
                ok = False
                continue
            results[engine] = ours
            line = (f"  ours on {engine:<10} (smsd + SmppBackend, window {window}): {ours['delivered']}/{n} DELIVERED "
                    f"in {ours['seconds']:.2f} s = {ours['rate']:,.0f} msg/s")
            good = ours["delivered"] == n and ours["rate"] >= TARGET_RATE
            if kannel:
                ratio = ours["rate"] / kannel["rate"] if kannel["rate"] else float("inf")
                line += f"; ratio to Kannel {ratio:.2f}"
                good = good and ratio >= 1.0
            ok = ok and good
            print(line + f"  [{'PASS' if good else 'FAIL'}]")
            print(f"    backend stats: {ours['stats']}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"  target: ≥{TARGET_RATE:,.0f} msg/s and ≥ Kannel on every engine → {'PASS' if ok else 'FAIL'}")
    gammu_n = int(args["--gammu-n"])
    if "--no-gammu" in args or not gammu_n:
        pass
    elif not shutil.which("gammu-smsd"):
        print("  Gammu SMSD: gammu-smsd not installed (apt-get install gammu gammu-smsd libdbd-sqlite3): not measured")
    else:
        workdir = Path(tempfile.mkdtemp(prefix="abah-bench-gammu-"))
        try:
            gammu = run_gammu(gammu_n, workdir)
            print(f"  Gammu SMSD (dummy modem, LoopSleep=1): {gammu['sent']}/{gammu_n} sent by the modem in "
                  f"{gammu['seconds']:.1f} s = {gammu['rate']:.2f} msg/s (bounded by the modem; not a target)")
        except Exception as error:
            print(f"  Gammu SMSD: FAILED to run ({error})")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]))
    elif len(sys.argv) > 3 and sys.argv[1] == "--gammu-worker":
        gammu_worker(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(run(sys.argv[1:]))
