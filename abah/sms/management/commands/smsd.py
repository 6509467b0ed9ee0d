"""manage.py smsd: run the SMS daemon (claim, send, apply delivery reports and replies) until stopped."""

from django.core.management.base import BaseCommand, CommandError

from abah.sms.conf import gateways
from abah.sms.daemon import Daemon


def positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Send queued SMS through the configured gateway and apply its delivery reports and replies."

    def add_arguments(self, parser):
        parser.add_argument("--gateway", default="default", help="the gateway to drive; run one smsd per gateway")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--lease", type=positive, default=60.0, help="seconds a claimed batch stays ours")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds to wait when there is nothing to do")
        parser.add_argument("--worker-id", default="")
        parser.add_argument("--once", action="store_true", help="one pass over everything due, then exit (tests)")
        parser.add_argument("--exit-when-idle", action="store_true", help="exit once nothing is queued or sending")
        parser.add_argument("--max-seconds", type=positive, default=None)

    def handle(self, *args, gateway, batch_size, lease, interval, worker_id, once, exit_when_idle, max_seconds,
               **options):
        if gateway not in gateways() and gateway != "default":  # "default": the first one configured
            raise CommandError(f"unknown gateway {gateway!r}; configured: {', '.join(gateways())}")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        daemon = Daemon(gateway=gateway, batch_size=batch_size, lease_seconds=lease, interval=interval,
                        worker_id=worker_id, stdout=self.stdout)
        if options["verbosity"] > 1:
            self.stdout.write(f"smsd {daemon.worker_id} on gateway {gateway} ({daemon.backend.__class__.__name__})")
        daemon.run(once=once, exit_when_idle=exit_when_idle, max_seconds=max_seconds)
