"""Run the whole application on one machine: the web server and the background workers, until Ctrl-C.

A child that exits (a worker crash, the web server) is restarted with backoff and recorded in ServiceProcess for
the status page; the others keep running (abah.core.supervise)."""

import signal
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from abah.core.runtime import worker_commands
from abah.core.supervise import Supervisor, process_env, record_service_process


class Command(BaseCommand):
    help = "Start web (waitress) and worker processes; print the URL and the demo logins; stop all on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-worker", action="store_true", help="start only the web server")

    def handle(self, *args, host, port, threads, no_worker, **options):
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
            self._banner(host, port)
            # A child that exits is restarted with backoff (abah.core.supervise): only Ctrl-C / SIGTERM ends this.
            while not stopping:
                supervisor.step()
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
        sys.stderr.write(line + "\n")  # a child's line as it wrote it (its log, a traceback)
        sys.stderr.flush()

    def _banner(self, host, port):
        from abah.accounts.demo import DEMO_PASSWORD, DEMO_USERS

        line = "=" * 64
        self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"  ABAH SMS Center is running:  http://{host}:{port}/"))
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, first, last, role, *_rest in DEMO_USERS:
            self.stdout.write(f"    {username:<10} {role.label:<8} {first} {last}")
        self.stdout.write("  Press Ctrl-C to stop.")
        self.stdout.write(line)
