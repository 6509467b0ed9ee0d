"""Run the whole application on one machine: the web server and the background workers, until Ctrl-C.

A child that exits (a worker crash, the web server) is restarted with backoff and recorded in ServiceProcess for
the status page; the others keep running (abah.core.supervise)."""

import errno
import re
import signal
import socket
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from abah.core.runtime import worker_commands
from abah.core.supervise import Supervisor, process_env, record_service_process

SERVING = re.compile(r"Serving on (https?://\S+)")


def _check_free(host: str, port: int) -> None:
    """Refuse at once, in words, an address that another program holds (instead of restarting a web server
    that can never bind). Port 0 lets the system choose: waitress says which, and the banner shows it."""
    if not 0 <= port <= 65535:
        raise CommandError(f"--port {port}: a port is a number from 1 to 65535 (0: any free port).")
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CommandError(f"--host {host}: not an address of this machine ({error.strerror}).") from error
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise CommandError(f"http://{host}:{port}/ is in use by another program: choose another port, "
                                       f"for example: make run PORT={port + 1 if port < 65535 else 8080}") from error
                raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}") from error


class Command(BaseCommand):
    help = ("Start web (waitress) and worker processes; print the URL the web server listens on and the demo "
            "logins; stop all on Ctrl-C.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (make run HOST=…)")
        parser.add_argument("--port", type=int, default=8000,
                            help="port to listen on (make run PORT=…); 0 takes a free one")
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-worker", action="store_true", help="start only the web server")

    def handle(self, *args, host, port, threads, no_worker, **options):
        _check_free(host, port)
        self._urls: list[str] = []
        self._urls_lock = threading.Lock()
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        web = [
            sys.executable, "-m", "waitress", f"--host={host}", f"--port={port}", f"--threads={threads}",
            "--ident=abah", "config.wsgi:application",
        ]
        commands = [("web", web)]
        if not no_worker:
            commands += [(name, manage + argv) for name, argv in worker_commands()]
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        supervisor = Supervisor(commands, cwd=settings.BASE_DIR, env=process_env(), out=self._out, err=self._err,
                                forward=self._forward, record=record_service_process)
        try:
            supervisor.start_all()
            shown = False
            # A child that exits is restarted with backoff (abah.core.supervise): only Ctrl-C / SIGTERM ends this.
            while not stopping:
                supervisor.step()
                if not shown:  # the banner says where the web server really listens, once it says so itself
                    with self._urls_lock:
                        urls = list(self._urls)
                    if urls:
                        self._banner(urls)
                        shown = True
                time.sleep(0.2)
        finally:
            self._out("stopping …")
            supervisor.stop()
            self._out("stopped.")

    def _out(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _err(self, line: str) -> None:
        self.stderr.write(line)  # serve's own words (in red on a terminal)
        self.stderr.flush()

    def _forward(self, line: str) -> None:
        match = SERVING.search(line)
        if match:  # waitress: "Serving on http://127.0.0.1:8000" (one line per address it listens on)
            with self._urls_lock:
                self._urls.append(match[1].rstrip("/") + "/")
        sys.stderr.write(line + "\n")  # a child's line as it wrote it (its log, a traceback)
        sys.stderr.flush()

    def _banner(self, urls: list[str]):
        from abah.accounts.demo import DEMO_PASSWORD, DEMO_USERS

        line = "=" * 64
        self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"  ABAH SMS Center is running:  {urls[0]}"))
        for url in urls[1:]:
            self.stdout.write(f"                          also:  {url}")
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, first, last, role, *_rest in DEMO_USERS:
            self.stdout.write(f"    {username:<10} {role.label:<8} {first} {last}")
        self.stdout.write("  Press Ctrl-C to stop.")
        self.stdout.write(line)
