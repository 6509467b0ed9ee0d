"""Daily job: grants waiting for their LPJ past the due date become LPJ_TERLAMBAT (idempotent)."""

from django.core.management.base import BaseCommand

from abah.grants.services import lpj_mark_overdue


class Command(BaseCommand):
    help = "Mark grants whose LPJ is past its due date as overdue (LPJ_TERLAMBAT). Safe to run repeatedly."

    def handle(self, *args, **options):
        count = lpj_mark_overdue()
        self.stdout.write(f"{count} grant(s) marked LPJ overdue")
