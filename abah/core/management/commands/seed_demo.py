"""Load synthetic demo data (idempotent): demo logins, institutions, grants, messages."""

from django.core.management.base import BaseCommand

from abah.core.demo import seeders


class Command(BaseCommand):
    help = "Load synthetic demo data. Safe to run again: existing demo data is kept."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=3000, help="number of demo grants (default 3000)")

    def handle(self, *args, size, **options):
        if size < 0:
            self.stderr.write("--size must be zero or more")
            return
        for _order, name, fn in seeders():
            self.stdout.write(f"seed_demo: {name} …")
            fn(size=size, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("seed_demo: done"))
