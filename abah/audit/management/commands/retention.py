"""manage.py retention: purge what is past its retention period (abah.audit.retention) and say what was removed.

``--once`` (the default) runs one pass; ``--loop`` runs a pass every ``--every`` seconds (86400: daily) until
stopped — the background process ``manage.py serve`` starts (registered by AuditConfig). ``--now`` runs the
pass as if it were that moment (ISO 8601; tests).
"""

import datetime
import logging

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from abah.audit import retention
from abah.core.runtime import run_periodically

log = logging.getLogger("abah.audit.retention")


class Command(BaseCommand):
    help = "Purge personal data past its retention period (messages, audit entries, notifications, codes)."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="one pass, then exit (the default)")
        mode.add_argument("--loop", action="store_true", help="a pass every --every seconds until stopped")
        parser.add_argument("--every", type=float, default=86400.0, help="seconds between passes (--loop)")
        parser.add_argument("--now", default="", help="ISO 8601 date/time instead of now (tests)")
        parser.add_argument("--max-passes", type=int, default=0, help="stop after this many passes (--loop)")

    def handle(self, *args, once, loop, every, now, max_passes, **options):
        moment = None
        if now:
            try:
                moment = datetime.datetime.fromisoformat(now)
            except ValueError as error:
                raise CommandError(f"--now: {error}") from error
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        if every <= 0:
            raise CommandError("--every must be positive")
        if not loop:
            self.one_pass(moment, options["verbosity"])
            return
        run_periodically(lambda: self.one_pass(moment, options["verbosity"]), every=every, max_passes=max_passes, log=log,
                         what="retention pass")

    def one_pass(self, moment, verbosity):
        counts = retention.run(now=moment)
        if verbosity:
            self.stdout.write("retention: " + ", ".join(f"{kind} {n}" for kind, n in counts.items())
                              + " removed")
