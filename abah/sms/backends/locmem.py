"""Backend for tests: keeps sent messages in ``outbox``; tests feed delivery reports and replies in."""

import itertools
from dataclasses import dataclass

from abah.sms import encoding

from .base import BaseSmsBackend, DeliveryReport, InboundSMS, SendResult

# Like django.core.mail.outbox: module-level lists the tests inspect and reset.
outbox: list["SentSMS"] = []
reports: list[DeliveryReport] = []
inbox: list[InboundSMS] = []
refuse: dict[str, tuple[str, str, bool]] = {}  # number -> (error_code, reason, temporary)
_ids = itertools.count(1)


@dataclass(frozen=True)
class SentSMS:
    id: int
    number: str
    text: str
    part_ids: list[str]


def reset() -> None:
    outbox.clear()
    reports.clear()
    inbox.clear()
    refuse.clear()


def deliver(sms: "SentSMS", *, delivered: bool = True, error_code: str = "", error_reason: str = "") -> None:
    """Queue a delivery report for every part of a sent message."""
    for part_id in sms.part_ids:
        reports.append(DeliveryReport(part_id, delivered, error_code, error_reason))


def receive(number: str, text: str, gateway_message_id: str | None = None) -> None:
    inbox.append(InboundSMS(number, text, gateway_message_id or f"LM-IN-{next(_ids)}"))


class LocmemBackend(BaseSmsBackend):
    def send_messages(self, messages):
        results = []
        for msg in messages:
            if msg.number in refuse:
                code, reason, temporary = refuse[msg.number]
                results.append(SendResult(msg.id, False, error_code=code, error_reason=reason, temporary=temporary))
                continue
            segments = max(1, encoding.analyze(msg.text).segments)
            part_ids = [f"LM-{next(_ids)}" for _ in range(segments)]
            outbox.append(SentSMS(msg.id, msg.number, msg.text, part_ids))
            results.append(SendResult(msg.id, True, part_ids))
        return results

    def poll(self, limit=1000):
        got_reports, got_inbound = reports[:limit], inbox[:limit]
        del reports[: len(got_reports)]
        del inbox[: len(got_inbound)]
        return got_reports, got_inbound
