"""manage.py sms_gateway_check: connect to each configured gateway and say, in words, what works and what not."""

import sys

from django.core.management.base import BaseCommand, CommandError

from abah.sms.backends import get_backend
from abah.sms.conf import gateways, route_for, routes
from abah.sms.models import Message


class Command(BaseCommand):
    help = "Connect to the configured SMS gateways (bind, schema, modem) and report what works and what does not."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="gateways to check (default: all configured)")
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, names, timeout, **options):
        configured = gateways()
        unknown = [name for name in names if name not in configured]
        if unknown:
            raise CommandError(f"unknown gateway(s) {', '.join(unknown)}; configured: {', '.join(configured)}")
        failed = False
        for name in names or list(configured):
            backend = get_backend(name)
            kind = configured[name]["BACKEND"].rsplit(".", 1)[-1]
            check = getattr(backend, "check", None)
            if check is None:
                ok, detail = backend.status()
                steps = [(ok, detail or "no connection to check")]
            else:
                try:
                    steps = check(timeout=timeout)
                except Exception as error:  # a check must report, never crash
                    steps = [(False, f"{error.__class__.__name__}: {error}")]
            good = all(ok for ok, _detail in steps)
            failed |= not good
            self.stdout.write(f"[{' ok ' if good else 'FAIL'}] {name} ({kind})")
            for ok, detail in steps:
                self.stdout.write(f"    {'✓' if ok else '✗'} {detail}")
        self.stdout.write("routes (first gateway that is up sends; the others take over):")
        table = routes()
        for kind in [k for k in Message.Kind.values if k != Message.Kind.REPLY]:
            self.stdout.write(f"    {kind}: {' → '.join(route_for(kind, table))}")
        if failed:
            sys.exit(1)
