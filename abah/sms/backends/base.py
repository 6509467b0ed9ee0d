"""Base class for SMS gateway backends: open / close / send_messages / poll, like django.core.mail backends."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class OutgoingSMS:
    """What the worker hands to a backend: our message id (the client reference), number and text."""

    id: int
    number: str
    text: str
    attempt: int = 1  # 1 on the first try; more: an earlier try may have reached the gateway (reconcile first)


@dataclass(frozen=True)
class SendResult:
    """The gateway's answer for one message: accepted with one id per segment, or refused.

    A refusal is ``temporary`` (throttled, link down: the worker retries with backoff) or permanent.
    ``handed_over`` says the gateway may have taken the message all the same (a submit went out and no
    answer came back): such a message is retried on the same gateway only, never failed over to another,
    so that at most that one gateway can duplicate it. A temporary refusal without it is a definite
    "not sent" and may go to any gateway of its route.
    """

    id: int
    accepted: bool
    part_ids: list[str] = field(default_factory=list)
    error_code: str = ""
    error_reason: str = ""
    temporary: bool = False
    handed_over: bool = False


class GatewayUnavailable(Exception):
    """Raised by send_messages when nothing of the batch reached the gateway (link down, database away):
    the worker may give the whole batch to another gateway."""


@dataclass(frozen=True)
class DeliveryReport:
    gateway_message_id: str
    delivered: bool
    error_code: str = ""
    error_reason: str = ""


@dataclass(frozen=True)
class InboundSMS:
    number: str
    text: str
    gateway_message_id: str
    received_at: datetime | None = None


class BaseSmsBackend:
    """Subclasses implement send_messages and poll; open/close hold a connection where there is one."""

    # True when delivery reports may already be waiting by the time send_messages returns (a fast SMSC): the
    # worker then writes them together with the parts.
    early_reports = False

    def take_reports(self, gateway_ids: set) -> list:
        """With early_reports: the delivery reports already waiting for these gateway ids, handed out as poll()
        hands them (then acknowledge() or release()); the others stay for the next poll."""
        return []

    def __init__(self, name: str = "default", fail_silently: bool = False, **options):
        self.name = name
        self.fail_silently = fail_silently
        self.options = options

    def open(self):
        return False

    def close(self):
        pass

    def __enter__(self):
        try:
            self.open()
        except Exception:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    def send_messages(self, messages: list[OutgoingSMS]) -> list[SendResult]:
        """Submit a batch; return one SendResult per message, in any order."""
        raise NotImplementedError("subclasses of BaseSmsBackend must override send_messages()")

    def poll(self, limit: int = 1000) -> tuple[list[DeliveryReport], list[InboundSMS]]:
        """Delivery reports and inbound messages that have arrived since the last poll."""
        return [], []

    def acknowledge(self, reports: list[DeliveryReport], inbound: list[InboundSMS]) -> None:
        """Called once the reports and inbound messages are committed to our database."""

    def release(self, reports: list[DeliveryReport], inbound: list[InboundSMS]) -> None:
        """Called when the worker could not commit what poll() gave it (the database went away): a backend that
        forgets what it handed out must hand these out again. Backends that read from a table again need
        nothing."""

    def status(self) -> tuple[bool, str]:
        """(connected, detail) for the status page."""
        return True, ""
