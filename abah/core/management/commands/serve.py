"""Run the whole application on one machine: the web server and the background worker, until Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from abah.core.runtime import worker_commands


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
        processes = []
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, argv in commands:
            # Own process group, so a Ctrl-C reaches us once and we stop the children in order.
            processes.append((name, subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, start_new_session=True)))  # noqa: S603
            self.stdout.write(f"started {name} (pid {processes[-1][1].pid})")
        self._banner(host, port)
        try:
            while not stopping:
                for name, proc in processes:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping everything")
                        stopping = True
                time.sleep(0.5)
        finally:
            self.stdout.write("stopping …")
            for _name, proc in processes:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for name, proc in processes:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop in time; killing pid {proc.pid}")
                    proc.kill()
                    proc.wait()
            self.stdout.write("stopped.")

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
