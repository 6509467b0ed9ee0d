"""SMPP 3.4 backend on smpplib: a bound session kept up in the background, a window of submits, receipts and MO.

smpplib is synchronous and leaves concurrency to its caller, so this module provides it:

* one reader thread per link (a transceiver, or a transmitter plus a receiver) that connects, binds,
  reads every PDU, answers enquire_link, sends its own when the line is quiet, and reconnects with
  backoff after any disconnect;
* ``send_messages`` keeps up to ``window`` submit_sm outstanding (keyed by link epoch + sequence number),
  writes under a lock, and waits for the responses; throttling answers pause the sender and retry the
  segment, permanent errors fail the message with the command status in words, and submits still
  unanswered when a link drops are reported as temporary failures (the worker re-queues them) and
  counted as possible duplicates;
* delivery receipts and inbound messages are buffered; their deliver_sm_resp is written only in
  ``acknowledge()``, i.e. after the worker committed them, so a crash in between makes the SMSC resend.

TCP_NODELAY is set on every socket: without it a windowed session with receipts crawls at ~100 msg/s.
Credentials never reach a log: the password is read from the environment (or OPTIONS), kept out of
``self.options`` and ``repr()``, and smpplib's raw PDU dumps (which include the bind) are filtered out.
"""

import itertools
import logging
import os
import re
import select
import socket
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from smpplib import client as smpp_client
from smpplib import consts, exceptions, smpp

from abah.sms import encoding

from . import smpp_codec as codec
from .base import BaseSmsBackend, DeliveryReport, InboundSMS, SendResult

log = logging.getLogger("abah.sms.smpp")
WIRE_LOGGER = "abah.sms.smpp.wire"

STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}
# The SMSC is busy, not refusing the message: slow down and retry.
THROTTLING = {consts.SMPP_ESME_RTHROTTLED, consts.SMPP_ESME_RMSGQFUL}

# Final states of a delivery receipt, with their meaning in words. ENROUTE/ACCEPTD are intermediate.
RECEIPT_FAILURES = {
    "UNDELIV": "Undeliverable",
    "EXPIRED": "Expired before it could be delivered",
    "REJECTD": "Rejected by the network",
    "DELETED": "Deleted by the SMSC",
    "UNKNOWN": "Delivery state unknown",
}
MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
                  7: "UNKNOWN", 8: "REJECTD"}
RECEIPT_TEXT = re.compile(rb"id:\s*(?P<id>[^\s]+).*?stat:\s*(?P<stat>[A-Za-z]+)(?:.*?err:\s*(?P<err>\w+))?", re.S)


def status_words(status: int) -> str:
    """``ESME_RINVDSTADR: invalid destination address`` for a command_status."""
    name = STATUS_NAMES.get(status, f"0x{status:08X}")
    words = consts.DESCRIPTIONS.get(status, "unknown error").split()
    # Lower-case the words but keep acronyms (ESME, BIND, ID) as they are.
    return f"{name}: " + " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in words)


class _NoWireDumps(logging.Filter):
    """smpplib logs every PDU in hex at DEBUG, the bind (and its password) included: never let those out."""

    def filter(self, record):
        return not str(record.msg).startswith((">>", "<<"))


logging.getLogger(WIRE_LOGGER).addFilter(_NoWireDumps())


class LinkDown(Exception):
    pass


@dataclass
class _Job:
    """One OutgoingSMS in a send_messages call: its segments and what the SMSC said about each."""

    sms: object
    segments: list
    ids: list = field(default_factory=list)
    permanent: tuple | None = None  # (code, reason)
    temporary: tuple | None = None
    throttled: int = 0
    unknown: bool = False  # a segment went out and its answer never came: the SMSC may have it
    streamed: bool = False  # its result went to the caller's on_results already

    @property
    def accepted(self) -> bool:
        return not (self.permanent or self.temporary) and all(self.ids)

    @property
    def handed_over(self) -> bool:
        """The SMSC took (or may have taken) part of this message: it must not go to another gateway."""
        return self.unknown or any(self.ids)

    def __post_init__(self):
        self.ids = [None] * len(self.segments)


@dataclass
class _Pending:
    job: _Job
    index: int
    batch: deque
    link: "_Link"
    epoch: int
    sent_at: float
    accepted: list = field(default_factory=list)  # the call's jobs accepted whole, not yet streamed


class _Link:
    """One SMPP session (transceiver, transmitter or receiver) with its reader thread."""

    def __init__(self, backend: "SmppBackend", mode: str):
        self.backend = backend
        self.mode = mode  # transceiver | transmitter | receiver
        self.client = None
        self.epoch = 0
        self.bound = False
        self.wlock = threading.Lock()
        self.last_error = "not connected yet"
        self.thread = threading.Thread(target=self.run, name=f"smpp-{backend.name}-{mode}", daemon=True)
        self._quiet_since = 0.0
        self._enquire_sent = 0.0
        self.unbinding = False

    @property
    def can_submit(self) -> bool:
        return self.bound and self.mode in ("transceiver", "transmitter")

    def run(self):
        backend = self.backend
        delay = backend.reconnect_min
        while not backend.closing.is_set():
            try:
                self.connect()
                delay = backend.reconnect_min
                self.read_loop()
            except Exception as error:  # any failure ends the session; the loop reconnects
                self.last_error = describe(error)
                if not backend.closing.is_set() and not self.unbinding:
                    log.warning("SMPP %s %s link down: %s", backend.name, self.mode, self.last_error)
            finally:
                self.drop()
            if backend.closing.wait(delay):
                break
            delay = min(delay * 2, backend.reconnect_max)

    def connect(self):
        backend = self.backend
        client = smpp_client.Client(backend.host, backend.port, timeout=backend.response_timeout,
                                    logger_name=WIRE_LOGGER, allow_unknown_opt_params=True)
        self.client = client
        client.connect()
        client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bind = {"transceiver": client.bind_transceiver, "transmitter": client.bind_transmitter,
                "receiver": client.bind_receiver}[self.mode]
        bind(system_id=backend.system_id, password=backend._password, system_type=backend.system_type,
             interface_version=0x34, addr_ton=backend.bind_ton, addr_npi=backend.bind_npi,
             address_range=backend.address_range)
        with backend.cv:
            self.epoch = next(backend.epochs)
            self.bound = True
            self.last_error = ""
            backend.cv.notify_all()
        self._quiet_since = time.monotonic()
        self._enquire_sent = 0.0
        log.info("SMPP %s bound as %s to %s:%s", backend.name, self.mode, backend.host, backend.port)

    def drop(self):
        backend = self.backend
        with backend.cv:
            was_bound, self.bound = self.bound, False
            backend.link_lost(self)
            backend.cv.notify_all()
        client, self.client = self.client, None
        if client is not None and client._socket is not None:
            try:
                client._socket.close()
            except OSError:
                pass
            client._socket = None
            client.state = consts.SMPP_CLIENT_STATE_CLOSED
        if was_bound:
            log.info("SMPP %s %s link closed", backend.name, self.mode)

    def send(self, build, register=None) -> int:
        """Write one PDU under the write lock: ``build(sequence)`` gives its bytes and ``register(sequence)``
        runs before they leave (the answer may come back before sendall returns)."""
        client = self.client
        if client is None or not self.bound:
            raise LinkDown(self.last_error or "not bound")
        with self.wlock:
            sequence = client.next_sequence()
            data = build(sequence)
            if register is not None:
                register(sequence)
            try:
                client._socket.sendall(data)
            except (OSError, AttributeError) as error:  # AttributeError: the socket was closed meanwhile
                raise LinkDown(describe(error)) from error
        return sequence

    def respond(self, command_id: int, sequence: int, body: bytes = b"", status: int = 0):
        client = self.client
        if client is None or client._socket is None:
            return
        with self.wlock:
            client._socket.sendall(codec.pdu(command_id, sequence, body, status))

    def read_loop(self):
        """Read PDUs off the socket in large chunks (smpplib's read_pdu costs two recv calls and a hex dump each)."""
        backend = self.backend
        sock = self.client._socket
        buffer = bytearray()
        while not backend.closing.is_set():
            readable, _w, _x = select.select([sock], [], [], 0.2)
            now = time.monotonic()
            if not readable:
                if self._enquire_sent and now - self._enquire_sent > backend.response_timeout:
                    raise LinkDown("no answer to enquire_link")
                if not self._enquire_sent and now - self._quiet_since > backend.enquire_link_interval:
                    self._enquire_sent = now
                    self.send(lambda seq: codec.pdu(codec.ENQUIRE_LINK, seq))
                continue
            chunk = sock.recv(1 << 18)
            if not chunk:
                raise LinkDown("connection closed by the SMSC")
            buffer += chunk
            self._quiet_since = now
            self._enquire_sent = 0.0
            offset = 0
            while len(buffer) - offset >= 16:
                length, command_id, status, sequence = codec.HEADER.unpack_from(buffer, offset)
                if length < 16 or length > 1 << 16:
                    raise LinkDown(f"malformed PDU from the SMSC (length {length})")
                if len(buffer) - offset < length:
                    break
                body = bytes(buffer[offset + 16 : offset + length])
                offset += length
                self.dispatch(command_id, status, sequence, body)
            del buffer[:offset]

    def dispatch(self, command_id: int, status: int, sequence: int, body: bytes):
        backend = self.backend
        if command_id == codec.SUBMIT_SM_RESP or command_id == codec.GENERIC_NACK:
            backend.submit_answered(self, sequence, status, codec.message_id(body) if not status else None)
        elif command_id == codec.DELIVER_SM:
            try:
                pdu = codec.parse_deliver_sm(sequence, body)
            except codec.MalformedPDU:
                log.warning("SMPP %s: malformed deliver_sm refused", backend.name)
                self.respond(codec.DELIVER_SM_RESP, sequence, b"\0", consts.SMPP_ESME_RSYSERR)
                return
            backend.deliver_received(self, pdu)
        elif command_id == codec.ENQUIRE_LINK:
            self.respond(codec.ENQUIRE_LINK_RESP, sequence)
        elif command_id == codec.UNBIND:
            self.respond(codec.UNBIND_RESP, sequence)
            raise LinkDown("the SMSC unbound the session")
        elif command_id == codec.UNBIND_RESP:
            raise LinkDown("unbound")
        elif command_id != codec.ENQUIRE_LINK_RESP and not command_id & 0x80000000:
            self.respond(codec.GENERIC_NACK, sequence, status=consts.SMPP_ESME_RINVCMDID)

    def unbind(self):
        if self.bound and self.client is not None:
            self.unbinding = True
            try:
                self.send(lambda seq: codec.pdu(codec.UNBIND, seq))
            except LinkDown:
                pass


def describe(error: Exception) -> str:
    """An exception in words, with SMPP command statuses named (never a PDU dump, never credentials)."""
    if isinstance(error, exceptions.PDUError) and len(error.args) > 1 and isinstance(error.args[1], int):
        return f"bind refused: {status_words(error.args[1])}"
    if isinstance(error, exceptions.ConnectionError):
        return f"connection failed: {error.args[0] if error.args else 'closed by the SMSC'}"
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    return str(error) or error.__class__.__name__


def _number(addr: bytes | str, ton: int) -> str:
    text = addr.decode("latin-1") if isinstance(addr, bytes) else (addr or "")
    return f"+{text}" if ton == consts.SMPP_TON_INTL and text.isdigit() else text


def _address_ton_npi(addr: str) -> tuple[int, int, str]:
    """TON/NPI for a source address: alphanumeric sender id, international number, or a short code."""
    if addr.startswith("+") and addr[1:].isdigit():
        return consts.SMPP_TON_INTL, consts.SMPP_NPI_ISDN, addr[1:]
    if addr.isdigit():
        return (consts.SMPP_TON_INTL, consts.SMPP_NPI_ISDN, addr) if len(addr) > 8 else (
            consts.SMPP_TON_UNK, consts.SMPP_NPI_ISDN, addr)
    return consts.SMPP_TON_ALNUM, consts.SMPP_NPI_UNK, addr


class SmppBackend(BaseSmsBackend):
    """OPTIONS: host, port, system_id, password_env (default SMS_SMPP_PASSWORD) or password, system_type,
    bind ("transceiver" | "transmitter_receiver"), source_addr (+ source_addr_ton/npi, guessed otherwise),
    window, concat ("udh" | "sar"), registered_delivery, enquire_link_interval, response_timeout,
    reconnect_min/max, throttle_pause, throttle_retries, connect_wait, service_type, validity_period."""

    early_reports = True
    # send_messages(on_results=…) hands over each window of accepted messages as soon as the SMSC answered
    # them, so the worker records them at once: a crash then repeats at most one window of submits.
    streams_results = True

    def __init__(self, name="default", *, host="127.0.0.1", port=2775, system_id="", password=None,
                 password_env="SMS_SMPP_PASSWORD",  # noqa: S107 (the name of a variable, not a secret)
                 system_type="", bind="transceiver", source_addr="ABAH",
                 source_addr_ton=None, source_addr_npi=None, dest_addr_ton=1, dest_addr_npi=1, window=64,
                 concat="udh", registered_delivery=1, enquire_link_interval=30.0, response_timeout=10.0,
                 reconnect_min=0.5, reconnect_max=30.0, throttle_pause=0.2, throttle_retries=8,
                 connect_wait=5.0, service_type="", validity_period="", bind_ton=0, bind_npi=0,
                 address_range="", mo_part_timeout=600.0, **options):
        super().__init__(name, **options)
        self.host, self.port = host, int(port)
        self.system_id = system_id or os.environ.get("SMS_SMPP_SYSTEM_ID", "")
        # The password stays out of self.options (which the status page and logs may show).
        self._password = password if password is not None else os.environ.get(password_env or "", "")
        self.system_type = system_type
        self.bind_mode = bind
        ton, npi, addr = _address_ton_npi(source_addr)
        self.source_addr = addr
        self.source_addr_ton = ton if source_addr_ton is None else int(source_addr_ton)
        self.source_addr_npi = npi if source_addr_npi is None else int(source_addr_npi)
        self.dest_addr_ton, self.dest_addr_npi = int(dest_addr_ton), int(dest_addr_npi)
        self.window = max(1, int(window))
        if concat not in ("udh", "sar"):
            raise ValueError("OPTIONS['concat'] must be 'udh' or 'sar'")
        self.concat = concat
        self.registered_delivery = int(registered_delivery)
        self.enquire_link_interval = float(enquire_link_interval)
        self.response_timeout = float(response_timeout)
        self.reconnect_min, self.reconnect_max = float(reconnect_min), float(reconnect_max)
        self.throttle_pause, self.throttle_retries = float(throttle_pause), int(throttle_retries)
        self.connect_wait = float(connect_wait)
        self.service_type, self.validity_period = service_type, validity_period
        self.bind_ton, self.bind_npi, self.address_range = int(bind_ton), int(bind_npi), address_range
        self.mo_part_timeout = float(mo_part_timeout)

        self.cv = threading.Condition()
        self.closing = threading.Event()
        self.epochs = itertools.count(1)
        self.links: list[_Link] = []
        self.pending: dict[tuple[int, int], _Pending] = {}
        self.unrecorded = 0  # segments streamed to the caller (send_messages' on_results) and not recorded yet
        self.pause_until = 0.0
        self.reports: deque = deque()  # (DeliveryReport, ack token)
        self.inbound: deque = deque()  # (InboundSMS, [ack tokens])
        self.unacked: dict[int, tuple] = {}  # id(report or sms) -> (object, tokens, handed_at)
        self.mo_parts: OrderedDict = OrderedDict()  # (source, ref, total) -> {"at", "coding", "parts", ...}
        self.recent_ids: OrderedDict = OrderedDict()  # ids we were given, to correlate odd receipt formats
        self._ref = itertools.count(int.from_bytes(os.urandom(2), "big"))
        self.stats = {"submitted": 0, "accepted": 0, "throttled": 0, "refused": 0, "lost_in_flight": 0,
                      "timeouts": 0, "receipts": 0, "inbound": 0, "disconnects": 0}

    def __repr__(self):
        return f"<SmppBackend {self.name} {self.system_id}@{self.host}:{self.port} password=***>"

    # ------------------------------------------------------------ lifecycle

    def open(self):
        if self.links:
            return False
        self.closing.clear()
        modes = ["transmitter", "receiver"] if self.bind_mode == "transmitter_receiver" else ["transceiver"]
        self.links = [_Link(self, mode) for mode in modes]
        for link in self.links:
            link.thread.start()
        self.wait_bound(self.connect_wait)
        return True

    def close(self):
        if not self.links:
            return
        for link in self.links:
            link.unbind()
        self.closing.set()
        for link in self.links:
            link.thread.join(timeout=self.response_timeout + 1)
        self.links = []

    def wait_bound(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        with self.cv:
            while not all(link.bound for link in self.links):
                left = deadline - time.monotonic()
                if left <= 0 or self.closing.is_set():
                    return False
                self.cv.wait(min(left, 0.2))
        return True

    def status(self):
        if not self.links:
            return False, "not open"
        down = [link for link in self.links if not link.bound]
        if down:
            return False, "; ".join(f"{link.mode}: {link.last_error or 'not bound'}" for link in down)
        return True, f"bound ({self.bind_mode}) to {self.host}:{self.port} as {self.system_id}"

    def check(self, timeout: float = 10.0) -> list[tuple[bool, str]]:
        """One synchronous connect + bind + enquire_link + unbind, for ``manage.py sms_gateway_check``."""
        steps = []
        client = smpp_client.Client(self.host, self.port, timeout=timeout, logger_name=WIRE_LOGGER,
                                    allow_unknown_opt_params=True)
        try:
            try:
                client.connect()
            except exceptions.ConnectionError:
                steps.append((False, f"TCP connection to {self.host}:{self.port} refused or unreachable"))
                return steps
            client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            steps.append((True, f"TCP connection to {self.host}:{self.port}"))
            if not self._password:
                steps.append((False, "no password configured (set the environment variable named by password_env)"))
            bind = client.bind_receiver if self.bind_mode == "transmitter_receiver" else client.bind_transceiver
            try:
                bind(system_id=self.system_id, password=self._password, system_type=self.system_type,
                     interface_version=0x34, addr_ton=self.bind_ton, addr_npi=self.bind_npi,
                     address_range=self.address_range)
            except Exception as error:
                steps.append((False, describe(error)))
                return steps
            steps.append((True, f"bound as {self.system_id!r}"))
            client.send_pdu(smpp.make_pdu("enquire_link", client=client))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pdu = client.read_pdu()
                if pdu.command == "enquire_link_resp":
                    steps.append((True, "enquire_link answered"))
                    break
                if pdu.command == "deliver_sm":
                    continue  # left unanswered on purpose: the SMSC will hand it to the real worker
            client.send_pdu(smpp.make_pdu("unbind", client=client))
        except Exception as error:
            steps.append((False, describe(error)))
        finally:
            if client._socket is not None:
                client._socket.close()
                client._socket = None
            client.state = consts.SMPP_CLIENT_STATE_CLOSED
        return steps

    # ------------------------------------------------------------ sending

    def segments(self, text: str) -> list[tuple[int, int, bytes, dict]]:
        """(data_coding, esm_class, short_message, TLVs) per segment, from our encoding module."""
        data_coding, payloads = encoding.encode_parts(text)
        payloads = payloads or [b""]
        if len(payloads) == 1:
            return [(data_coding, 0, payloads[0], {})]
        total = len(payloads)
        ref = next(self._ref)
        if self.concat == "sar":
            return [(data_coding, 0, payload, {"sar_msg_ref_num": ref % 0x10000, "sar_total_segments": total,
                                               "sar_segment_seqnum": seq})
                    for seq, payload in enumerate(payloads, start=1)]
        return [(data_coding, 0x40, encoding.udh_concat(ref % 0x100, total, seq) + payload, {})
                for seq, payload in enumerate(payloads, start=1)]

    def _submit_link(self):
        for link in self.links:
            if link.can_submit:
                return link
        return None

    def send_messages(self, messages, on_results=None):
        """Submit the batch through the window; one SendResult per message.

        ``on_results``: called (in this thread, without the lock) with the results of messages accepted whole, as
        they come; those are not returned again. The caller reports with ``recorded(results)`` once they are
        committed, and until then they count against the window: submits unanswered plus accepted-unrecorded
        never exceed ``window``, so a worker killed at any moment can have sent at most ``window`` segments that
        it has not recorded (the only ones that can go out twice)."""
        if not self.links:
            self.open()
        jobs = []
        for sms in messages:
            try:
                jobs.append(_Job(sms, self.segments(sms.text)))
            except Exception as error:  # one text the encoder refuses fails alone, in words; the batch goes on
                log.error("SMPP %s: message %s cannot be encoded: %s", self.name, sms.id, error)
                job = _Job(sms, [])
                job.permanent = ("encoding", f"The text cannot be encoded for SMS: {error}"[:255])
                jobs.append(job)
        batch: deque = deque((job, index) for job in jobs for index in range(len(job.segments)))
        mine: set[tuple[int, int]] = set()
        accepted: list[_Job] = []
        streaming = on_results is not None
        chunk = max(1, self.window // 4)

        def in_flight() -> int:  # segments the SMSC may have and we have not recorded
            if not streaming:
                return len(self.pending)
            return len(self.pending) + self.unrecorded + sum(len(job.segments) for job in accepted)

        down_since = None
        with self.cv:
            while batch or mine:
                if streaming and accepted and (len(accepted) >= chunk or not batch or in_flight() >= self.window):
                    ready, accepted[:] = list(accepted), []
                    for job in ready:
                        job.streamed = True
                    self.unrecorded += sum(len(job.segments) for job in ready)
                    self.cv.release()
                    try:
                        on_results([self._result(job) for job in ready])
                    finally:
                        self.cv.acquire()
                    continue
                now = time.monotonic()
                self._expire(now, mine)
                link = self._submit_link()
                if link is None:
                    down_since = down_since or now
                    if now - down_since > self.connect_wait:
                        break  # the rest goes back to the queue as a temporary failure
                    self.cv.wait(0.1)
                    continue
                down_since = None
                while batch and in_flight() < self.window and now >= self.pause_until:
                    job, index = batch.popleft()
                    if job.permanent or job.temporary:
                        continue
                    self.cv.release()
                    try:
                        self._submit(link, job, index, batch, mine, accepted)
                    except LinkDown:
                        batch.appendleft((job, index))
                        self.cv.acquire()
                        break
                    self.cv.acquire()
                wait = 0.05 if now >= self.pause_until else max(0.0, self.pause_until - now)
                if batch or mine:
                    self.cv.wait(min(max(wait, 0.001), 0.2))
            for key in list(mine):  # only when the link stayed down: no answer will come
                pending = self.pending.pop(key, None)
                if pending:
                    self._lost(pending, "The link to the SMSC was lost before it answered")
            reason = next((link.last_error for link in self.links if link.last_error), "") or "not bound"
            for job, _index in batch:
                if not (job.permanent or job.temporary):
                    job.temporary = ("smpp_down", f"SMPP link down: {reason}"[:255])
        return [self._result(job) for job in jobs if not job.streamed]

    def recorded(self, results) -> None:
        """The caller committed these streamed results: their segments leave the window."""
        with self.cv:
            self.unrecorded = max(0, self.unrecorded - sum(max(1, len(r.part_ids)) for r in results))
            self.cv.notify_all()

    def _submit(self, link, job, index, batch, mine, accepted):
        data_coding, esm_class, payload, tlvs = job.segments[index]

        def register(sequence):
            with self.cv:
                key = (link.epoch, sequence)
                self.pending[key] = _Pending(job, index, batch, link, link.epoch, time.monotonic(), accepted)
                mine.add(key)

        number = job.sms.number.removeprefix("+")

        def build(sequence):
            return codec.submit_sm(
                sequence, service_type=self.service_type, source_addr_ton=self.source_addr_ton,
                source_addr_npi=self.source_addr_npi, source_addr=self.source_addr, dest_addr_ton=self.dest_addr_ton,
                dest_addr_npi=self.dest_addr_npi, destination_addr=number, esm_class=esm_class, data_coding=data_coding,
                registered_delivery=self.registered_delivery, validity_period=self.validity_period,
                short_message=payload, **tlvs)

        link.send(build, register=register)
        self.stats["submitted"] += 1

    def submit_answered(self, link, sequence, status, message_id):
        """Reader thread: a submit_sm_resp (or generic_nack) arrived."""
        with self.cv:
            pending = self.pending.pop((link.epoch, sequence), None)
            if pending is None:
                log.info("SMPP %s: answer to an unknown or expired submit (seq %s)", self.name, sequence)
                return
            job = pending.job
            if status == consts.SMPP_ESME_ROK and message_id:
                gid = message_id.decode("latin-1") if isinstance(message_id, bytes) else str(message_id)
                job.ids[pending.index] = gid
                self._remember(gid)
                self.stats["accepted"] += 1
                if job.accepted:
                    pending.accepted.append(job)
            elif status in THROTTLING:
                self.stats["throttled"] += 1
                job.throttled += 1
                if job.throttled > self.throttle_retries:
                    job.temporary = (STATUS_NAMES.get(status, "throttled"), status_words(status))
                else:
                    # Slow down: nothing more goes out until the pause ends, then this segment first.
                    pause = self.throttle_pause * min(2 ** (job.throttled - 1), 16)
                    self.pause_until = max(self.pause_until, time.monotonic() + pause)
                    pending.batch.appendleft((job, pending.index))
            else:
                self.stats["refused"] += 1
                job.permanent = (STATUS_NAMES.get(status, f"0x{status:08X}")[:32], status_words(status))
            self.cv.notify_all()

    def _expire(self, now, mine):
        for key in [k for k in mine if k not in self.pending]:
            mine.discard(key)
        for key in list(mine):
            pending = self.pending[key]
            if now - pending.sent_at > self.response_timeout:
                del self.pending[key]
                mine.discard(key)
                self.stats["timeouts"] += 1
                self._lost(pending, "The SMSC did not answer in time")

    def _lost(self, pending, reason):
        """An unanswered submit: retried later, and possibly a duplicate if the SMSC did take it."""
        self.stats["lost_in_flight"] += 1
        log.warning("SMPP %s: submit for message %s part %d unanswered (%s): retried later, possible duplicate",
                    self.name, pending.job.sms.id, pending.index + 1, reason)
        pending.job.unknown = True
        if not pending.job.permanent:
            pending.job.temporary = ("smpp_in_flight", reason)

    def link_lost(self, link):
        """Called with cv held when a link drops: its unanswered submits will never be answered."""
        self.stats["disconnects"] += 1
        for key in [k for k, p in self.pending.items() if p.link is link and p.epoch == link.epoch]:
            self._lost(self.pending.pop(key), "The link to the SMSC was lost before it answered")

    def _result(self, job) -> SendResult:
        sms = job.sms
        if job.permanent:
            return SendResult(sms.id, False, error_code=job.permanent[0], error_reason=job.permanent[1])
        if job.temporary or not all(job.ids):
            code, reason = job.temporary or ("no_answer", "The SMSC gave no answer")
            return SendResult(sms.id, False, error_code=code[:32], error_reason=reason[:255], temporary=True,
                              handed_over=job.handed_over)
        return SendResult(sms.id, True, list(job.ids))

    def _remember(self, gid):
        self.recent_ids[gid] = None
        if len(self.recent_ids) > 200_000:
            self.recent_ids.popitem(last=False)

    # ------------------------------------------------------------ receiving

    def _correlate(self, gid: str) -> str:
        """SMSCs disagree on id formats between submit_sm_resp and the receipt (hex vs decimal, padding)."""
        if not gid or gid in self.recent_ids:
            return gid
        candidates = [gid.lstrip("0"), gid.lower(), gid.upper()]
        if gid.isdigit():
            candidates += [f"{int(gid):x}", f"{int(gid):X}"]
        if re.fullmatch(r"[0-9a-fA-F]+", gid):
            candidates.append(str(int(gid, 16)))
        for candidate in candidates:
            if candidate in self.recent_ids:
                return candidate
        return gid

    def deliver_received(self, link, pdu):
        """Reader thread: a deliver_sm. Receipts and complete messages wait for acknowledge()."""
        token = (link, link.epoch, pdu.sequence)
        if pdu.esm_class & 0x3C in (0x04, 0x10, 0x20):  # SMSC receipt, SME ack, intermediate notification
            report = self._parse_receipt(pdu)
            if report is None:
                link.respond(codec.DELIVER_SM_RESP, pdu.sequence, b"\0")
                return
            with self.cv:
                self.stats["receipts"] += 1
                self.reports.append((report, token))
            return
        self._receive_part(link, pdu, token)

    def _parse_receipt(self, pdu) -> DeliveryReport | None:
        text = pdu.short_message or getattr(pdu, "message_payload", None) or b""
        match = RECEIPT_TEXT.search(text)
        tlv_id = getattr(pdu, "receipted_message_id", None)
        gid = tlv_id.decode("latin-1").strip("\0") if tlv_id else (match["id"].decode("latin-1") if match else "")
        stat = match["stat"].decode().upper() if match else MESSAGE_STATES.get(getattr(pdu, "message_state", None) or 0, "")
        if not gid or stat in ("", "ENROUTE", "ACCEPTD"):
            return None
        err = match["err"].decode() if match and match["err"] else ""
        with self.cv:
            gid = self._correlate(gid)
        if stat == "DELIVRD":
            return DeliveryReport(gid, True)
        words = RECEIPT_FAILURES.get(stat, f"Not delivered ({stat})")
        return DeliveryReport(gid, False, stat.lower()[:32], f"{words} (err {err})" if err else words)

    def _receive_part(self, link, pdu, token):
        data = pdu.short_message or getattr(pdu, "message_payload", None) or b""
        number = _number(pdu.source_addr or b"", pdu.source_addr_ton or 0)
        concat = None
        if pdu.esm_class & 0x40:
            udh, data = encoding.split_udh(data)
            concat = encoding.parse_concat(udh)
        elif getattr(pdu, "sar_total_segments", None):
            concat = (pdu.sar_msg_ref_num or 0, pdu.sar_total_segments, pdu.sar_segment_seqnum or 1)
        if not concat or concat[1] == 1:
            sms = InboundSMS(number, encoding.decode_payload(pdu.data_coding or 0, data), f"smpp-{uuid.uuid4().hex}")
            with self.cv:
                self.stats["inbound"] += 1
                self.inbound.append((sms, [token]))
            return
        ref, total, seq = concat
        key = (number, ref, total)
        with self.cv:
            entry = self.mo_parts.setdefault(key, {"at": time.monotonic(), "coding": pdu.data_coding or 0,
                                                   "parts": {}})
            entry["parts"][seq] = data
            complete = len(entry["parts"]) == total
            if complete:
                del self.mo_parts[key]
        if not complete:
            # Earlier parts are answered at once: an SMSC with a window of one would otherwise never send
            # the rest. Only the last part waits for the commit (a crash loses the earlier parts' bytes).
            link.respond(codec.DELIVER_SM_RESP, pdu.sequence, b"\0")
            return
        joined = b"".join(entry["parts"][i] for i in range(1, total + 1))  # bytes first, then decode
        sms = InboundSMS(number, encoding.decode_payload(entry["coding"], joined), f"smpp-{uuid.uuid4().hex}")
        with self.cv:
            self.stats["inbound"] += 1
            self.inbound.append((sms, [token]))

    def _expire_mo_parts(self):
        """Incomplete multi-part messages older than mo_part_timeout (or beyond 10,000) are kept as they are."""
        now = time.monotonic()
        while self.mo_parts:
            key, entry = next(iter(self.mo_parts.items()))
            if now - entry["at"] < self.mo_part_timeout and len(self.mo_parts) <= 10_000:
                break
            del self.mo_parts[key]
            number, _ref, total = key
            text = " […] ".join(encoding.decode_payload(entry["coding"], entry["parts"][i])
                                for i in range(1, total + 1) if i in entry["parts"])
            self.inbound.append((InboundSMS(number, text, f"smpp-{uuid.uuid4().hex}"), []))

    def poll(self, limit=1000):
        now = time.monotonic()
        with self.cv:
            self._expire_mo_parts()
            reports, inbound = [], []
            while self.reports and len(reports) < limit:
                report, token = self.reports.popleft()
                reports.append(report)
                self.unacked[id(report)] = (report, [token], now)
            while self.inbound and len(inbound) < limit:
                sms, tokens = self.inbound.popleft()
                inbound.append(sms)
                self.unacked[id(sms)] = (sms, tokens, now)
            # Handed over but never acknowledged (the worker's transaction failed): the SMSC resends them.
            for key in [k for k, (_o, _t, at) in self.unacked.items() if now - at > 600]:
                del self.unacked[key]
        return reports, inbound

    def take_reports(self, gateway_ids):
        """The receipts waiting for these ids (the window being recorded): one pass over the waiting receipts,
        the others keep their place."""
        now = time.monotonic()
        taken = []
        with self.cv:
            if not self.reports:
                return taken
            others: deque = deque()
            for report, token in self.reports:
                if report.gateway_message_id in gateway_ids:
                    taken.append(report)
                    self.unacked[id(report)] = (report, [token], now)
                else:
                    others.append((report, token))
            self.reports = others
        return taken

    def release(self, reports, inbound):
        """The worker could not commit these: hand them out again on the next poll (their deliver_sm stays
        unanswered meanwhile)."""
        with self.cv:
            for obj, queue in [*((r, self.reports) for r in reversed(reports)),
                               *((m, self.inbound) for m in reversed(inbound))]:
                entry = self.unacked.pop(id(obj), None)
                if entry is not None:
                    queue.appendleft((obj, entry[1]) if queue is self.inbound else (obj, entry[1][0]))

    def acknowledge(self, reports, inbound):
        """The worker committed these: answer their deliver_sm now (on the session they came in on)."""
        tokens = []
        with self.cv:
            for obj in [*reports, *inbound]:
                entry = self.unacked.pop(id(obj), None)
                if entry is not None:
                    tokens += entry[1]
        for link, epoch, sequence in tokens:
            if link.bound and link.epoch == epoch:
                try:
                    link.respond(codec.DELIVER_SM_RESP, sequence, b"\0")
                except Exception as error:  # the link is going down; the SMSC will resend
                    log.info("SMPP %s: deliver_sm_resp not sent (%s)", self.name, describe(error))
