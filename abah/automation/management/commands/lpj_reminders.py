"""manage.py lpj_reminders: queue the LPJ billing and overdue reminders that are due (see abah.automation.reminders).

``--once`` runs one pass and exits (tests, cron); ``--loop`` runs a pass every ``--interval`` seconds until
stopped (the worker process registered by AutomationConfig). Every pass first moves grants past their LPJ
due date to "LPJ overdue". Passes are idempotent, so several workers may run this at once.
"""

import datetime
import logging
import time

from django.core.management.base import BaseCommand, CommandError

from abah.automation import reminders
from abah.core.runtime import run_periodically
from abah.grants.services import lpj_mark_overdue

log = logging.getLogger("abah.automation.reminders")


class Command(BaseCommand):
    help = "Queue the SPJ/LPJ billing and overdue reminders that are due."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="one pass, then exit (the default)")
        mode.add_argument("--loop", action="store_true", help="a pass every --interval seconds until stopped")
        parser.add_argument("--interval", type=float, default=600.0, help="seconds between passes (--loop)")
        parser.add_argument("--today", default="", help="YYYY-MM-DD instead of today's date in WIB (tests)")
        parser.add_argument("--max-passes", type=int, default=0, help="stop after this many passes (--loop)")

    def handle(self, *args, once, loop, interval, today, max_passes, **options):
        day = None
        if today:
            try:
                day = datetime.date.fromisoformat(today)
            except ValueError as error:
                raise CommandError(f"--today: {error}") from error
        if interval <= 0:
            raise CommandError("--interval must be positive")
        if not loop:
            self.one_pass(day, options["verbosity"])
            return
        run_periodically(lambda: self.one_pass(day, options["verbosity"]), every=interval, max_passes=max_passes, log=log,
                         what="LPJ reminder pass")

    def one_pass(self, day, verbosity):
        started = time.monotonic()
        overdue = lpj_mark_overdue(today=day)
        result = reminders.run(today=day)
        line = (f"lpj_reminders: {result.queued} queued, {result.already} already sent, {result.skipped} skipped "
                f"(no contact or value), {overdue} newly overdue; {time.monotonic() - started:.2f} s")
        if verbosity:
            self.stdout.write(line)
        log.info(line)
