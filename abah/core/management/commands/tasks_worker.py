"""manage.py tasks_worker: django-tasks' ``db_worker`` (e-mail and SMS copies of notifications, …) that survives
the database going away: it waits with backoff, logs once per outage, and resumes, instead of exiting."""

import logging
import time

from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django_tasks_db.management.commands import db_worker

log = logging.getLogger("abah.core.tasks_worker")

BACKOFF = (0.5, 15.0)  # first and longest pause, doubling in between
CALM_SECONDS = 30.0  # an error this long after resuming starts a new outage (logged again)


class ResilientWorker(db_worker.Worker):
    def run(self) -> None:
        faults, resumed_at = 0, 0.0
        while self.running:
            try:
                super().run()
                return  # --batch / --max-tasks ended it, or a signal asked it to stop
            except (OperationalError, InterfaceError) as error:
                if faults and time.monotonic() - resumed_at > CALM_SECONDS:
                    faults = 0
                faults += 1
                if faults == 1:
                    words = " ".join(str(error).split())[:200] or error.__class__.__name__
                    log.warning("database unavailable (%s); the tasks worker keeps running and retries", words)
                try:
                    connection.close()
                except Exception:  # noqa: S110 (a broken connection cannot be closed cleanly)
                    pass
                first, longest = BACKOFF
                end = time.monotonic() + min(longest, first * 2 ** min(faults - 1, 10))
                while self.running and time.monotonic() < end:
                    time.sleep(0.1)
                close_old_connections()
                resumed_at = time.monotonic()


class Command(db_worker.Command):
    help = "Run background tasks (django-tasks' db_worker) and keep running while the database is away."

    def handle(self, **options):
        options["reload"] = False  # the supervisor (serve, systemd) restarts it; no autoreloader in between
        plain, db_worker.Worker = db_worker.Worker, ResilientWorker
        try:
            super().handle(**options)
        finally:
            db_worker.Worker = plain
