"""The embedded fake SMSC: accepts, returns message ids, reports delivery after a delay, fails dead numbers.

Its state (what it accepted, which reports are due, what virtual phones typed) lives in its own tables,
SimulatorDelivery and SimulatorInbound; the worker reaches it only through this backend, as it would a
real operator. The "Telepon Virtual" page reads those tables and writes replies into SimulatorInbound.
"""

import random
import time
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from abah.sms import encoding
from abah.sms.dbutil import db_datetime, insert_rows
from abah.sms.models import SimulatorDelivery, SimulatorInbound

from .base import BaseSmsBackend, DeliveryReport, InboundSMS, SendResult


class SimulatorBackend(BaseSmsBackend):
    def __init__(self, name="default", *, dlr_delay=(0.5, 2.0), dead_suffixes=("0000",), dead_numbers=(),
                 throttle_per_second=0, submit_delay=0, **options):
        super().__init__(name, **options)
        low, high = (dlr_delay, dlr_delay) if isinstance(dlr_delay, int | float) else dlr_delay
        self.dlr_delay = (float(low), float(high))
        self.dead_suffixes = tuple(dead_suffixes)
        self.dead_numbers = frozenset(dead_numbers)
        self.throttle_per_second = int(throttle_per_second)
        self.submit_delay = float(submit_delay)
        self._window_start = 0.0
        self._window_count = 0

    COLUMNS = ["gateway_message_id", "client_ref", "seq", "total", "number", "text", "accepted_at", "due_at",
               "delivered", "error_code", "error_reason", "reported"]

    def is_dead(self, number: str) -> bool:
        return number in self.dead_numbers or any(number.endswith(s) for s in self.dead_suffixes if s)

    def _throttled(self) -> bool:
        if not self.throttle_per_second:
            return False
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count > self.throttle_per_second

    def send_messages(self, messages):
        if self.submit_delay:
            time.sleep(self.submit_delay)  # a slow link to the operator
        now = timezone.now()
        accepted_at = db_datetime(now)
        low, high = self.dlr_delay
        rows, results = [], []
        known = self._already_accepted([msg.id for msg in messages if msg.attempt > 1])
        for msg in messages:
            if msg.id in known:  # an earlier try reached the SMSC and the worker died before recording it
                results.append(SendResult(msg.id, True, known[msg.id]))
                continue
            if self._throttled():
                results.append(SendResult(msg.id, False, error_code="throttled",
                                          error_reason="Throttling error (ESME exceeded allowed message limits)",
                                          temporary=True))
                continue
            parts = encoding.analyze(msg.text).parts or [msg.text]
            dead = self.is_dead(msg.number)
            part_ids = []
            for seq, part in enumerate(parts, start=1):
                gateway_id = uuid.uuid4().hex
                part_ids.append(gateway_id)
                due_at = now + timedelta(seconds=random.uniform(low, high)) if high else now  # noqa: S311
                rows.append((
                    gateway_id, str(msg.id), seq, len(parts), msg.number, part, accepted_at, db_datetime(due_at),
                    not dead, "absent_subscriber" if dead else "", "Absent subscriber" if dead else "", False,
                ))
            results.append(SendResult(msg.id, True, part_ids))
        insert_rows(SimulatorDelivery, self.COLUMNS, rows)
        return results

    @staticmethod
    def _already_accepted(ids: list[int]) -> dict[int, list[str]]:
        """{message id: part ids} of those the simulated SMSC holds already (a real SMSC's client reference)."""
        found: dict[int, list[tuple[int, str]]] = {}
        if ids:
            for ref, seq, gid in SimulatorDelivery.objects.filter(client_ref__in=[str(pk) for pk in ids]).values_list(
                    "client_ref", "seq", "gateway_message_id"):
                found.setdefault(int(ref), []).append((seq, gid))
        return {pk: [gid for _seq, gid in sorted(parts)] for pk, parts in found.items()}

    def poll(self, limit=1000):
        """Reports whose time has come and replies typed on virtual phones.

        Marks them taken in the caller's transaction (the worker applies them in the same one), and
        skips rows another worker holds, so two workers never apply the same report twice.
        """
        assert transaction.get_connection().in_atomic_block, "poll() must run inside the worker's transaction"
        now = timezone.now()
        skip = {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}
        due = list(
            SimulatorDelivery.objects.select_for_update(**skip)
            .filter(reported=False, due_at__lte=now)
            .order_by("due_at")
            .values_list("id", "gateway_message_id", "delivered", "error_code", "error_reason")[:limit]
        )
        if due:
            SimulatorDelivery.objects.filter(id__in=[row[0] for row in due]).update(reported=True)
        typed = list(
            SimulatorInbound.objects.select_for_update(**skip)
            .filter(picked_up=False)
            .order_by("created_at", "id")
            .values_list("id", "number", "text", "gateway_message_id", "created_at")[:limit]
        )
        if typed:
            SimulatorInbound.objects.filter(id__in=[row[0] for row in typed]).update(picked_up=True)
        reports = [DeliveryReport(gid, ok, code, reason) for _id, gid, ok, code, reason in due]
        inbound = [InboundSMS(number, text, gid, at) for _id, number, text, gid, at in typed]
        return reports, inbound

    def status(self):
        return True, "Simulator"


def phone_reply(*, number: str, text: str) -> SimulatorInbound:
    """A person types a reply on a virtual phone: the SMSC will hand it to the worker like a real one."""
    return SimulatorInbound.objects.create(gateway_message_id=f"SIMIN{uuid.uuid4().hex}", number=number, text=text)
