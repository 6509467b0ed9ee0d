"""Writes of the SMS Center: queue messages (one or in bulk), receive them, threads, delivery reports."""

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.base import ModelState
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from abah.core.text import clean_text

from . import encoding, phone, routing
from .backends.base import DeliveryReport
from .dbutil import any_chunk, db_datetime, insert_rows, sequence_ids
from .models import Conversation, Message, MessagePart, UnmatchedReport
from .signals import message_received, message_status_changed, message_typed

log = logging.getLogger(__name__)

MAX_SEGMENTS = 10  # longer texts are refused, not truncated: 1,530 GSM-7 or 670 UCS-2 characters
MAX_TEXT_CHARS = 1530  # the most any text of MAX_SEGMENTS can hold (GSM-7); a cheap first bound for editors
OUTGOING_KINDS = frozenset(Message.Kind.values) - {Message.Kind.REPLY}


def default_priority(kind: str) -> int:
    return Message.PRIORITY_BY_KIND.get(kind, 50)


def normalize_text(text: str | None) -> str:
    """An outgoing text as it is sent: line breaks as LF (browsers post a textarea's breaks as CRLF, which
    would cost two GSM-7 septets each and disagree with the live counter), surrounding blanks removed, and what a
    phone or the database cannot hold (NUL, control characters, lone surrogates) cleaned out (core.text)."""
    return clean_text(text).replace("\r\n", "\n").replace("\r", "\n").strip()


def check_length(text: str) -> encoding.Analysis:
    """The text's encoding and segments; a ValidationError when it needs more than MAX_SEGMENTS SMS."""
    if len(text) > MAX_TEXT_CHARS:  # cheap bound before counting: no text this long fits, whatever its alphabet
        analysis = None
    else:
        analysis = encoding.analyze(text)
    if analysis is None or analysis.segments > MAX_SEGMENTS:
        raise ValidationError(
            _("The message is too long: at most %(max)d SMS (%(gsm)d characters, or %(ucs)d with characters "
              "outside GSM-7 such as emoji).")
            % {"max": MAX_SEGMENTS, "gsm": MAX_SEGMENTS * encoding.GSM7_MULTI,
               "ucs": MAX_SEGMENTS * encoding.UCS2_MULTI},
            code="too_long",
        )
    return analysis


def _build_message(*, to, text, kind, idempotency_key=None, priority=None, sender=None, conversation=None,
                   conversation_id=None, send_after=None, meta=None, now=None, bulk=False) -> Message:
    """Validate one outgoing message and return it unsaved; bad input raises a translated ValidationError.

    ``bulk``: build it through Model's positional fast path (queue_messages builds thousands); the thread and
    sender are then set by id only (``conversation_id`` may be given instead of the thread)."""
    number = phone.parse_mobile(to)
    text = normalize_text(text)
    if not text:
        raise ValidationError(_("The message text is empty."), code="empty_text")
    if kind not in OUTGOING_KINDS:
        raise ValidationError(_("Unknown message kind: %(kind)s.") % {"kind": kind}, code="kind")
    if idempotency_key is not None and not str(idempotency_key).strip():
        idempotency_key = None
    analysis = check_length(text)
    now = now or timezone.now()
    if bulk:
        values = {
            "number": number, "text": text, "encoding": analysis.encoding, "segments": max(1, analysis.segments),
            "kind": kind, "priority": default_priority(kind) if priority is None else int(priority),
            "idempotency_key": idempotency_key,
            "conversation_id": conversation_id if conversation_id is not None else getattr(conversation, "pk", None),
            "sender_id": getattr(sender, "pk", None), "meta": meta or {},
            "next_attempt_at": max(send_after, now) if send_after else now, "created_at": now, "queued_at": now,
        }
        # Model.__init__ costs more than the rest of this function (descriptors, a post_init signal nobody
        # listens to for Message); a new instance's attributes are plain values, so they are set directly.
        message = Message.__new__(Message)
        message.__dict__.update(_new_message_defaults())
        message.__dict__.update(values)
        message._state = ModelState()
        return message
    return Message(
        direction=Message.Direction.OUT,
        number=number,
        text=text,
        encoding=analysis.encoding,
        segments=max(1, analysis.segments),
        kind=kind,
        priority=default_priority(kind) if priority is None else int(priority),
        idempotency_key=idempotency_key,
        status=Message.Status.QUEUED,
        **({"conversation": conversation} if conversation is not None else {"conversation_id": conversation_id}),
        sender=sender if sender is not None and getattr(sender, "pk", None) else None,
        meta=meta or {},
        next_attempt_at=max(send_after, now) if send_after else now,
        created_at=now,
        queued_at=now,
    )


_DEFAULTS: dict = {}


def _new_message_defaults() -> dict:
    """{attname: value} of a new queued outgoing message, for every concrete field (the bulk path of
    _build_message overrides what it sets)."""
    if not _DEFAULTS:
        fixed = {"id": None, "direction": Message.Direction.OUT, "status": Message.Status.QUEUED, "attempts": 0}
        # Callable defaults (now, dict) are always given by _build_message; the rest are constants.
        _DEFAULTS.update({field.attname: fixed.get(field.attname, field.get_default())
                          for field in Message._meta.concrete_fields})
    return _DEFAULTS


@transaction.atomic
def queue_message(*, to: str, text: str, kind: str, idempotency_key: str | None = None, priority: int | None = None,
                  sender=None, conversation: Conversation | None = None, send_after: datetime | None = None,
                  meta: dict | None = None) -> Message:
    """Queue one outgoing SMS in the caller's transaction; the same idempotency key returns the first message."""
    message = _build_message(to=to, text=text, kind=kind, idempotency_key=idempotency_key, priority=priority,
                             sender=sender, conversation=conversation, send_after=send_after, meta=meta)
    if message.idempotency_key:
        existing = Message.objects.filter(idempotency_key=message.idempotency_key).first()
        if existing is not None:
            return existing
        try:
            # A savepoint: a concurrent request with the same key wins the unique index, we return its row.
            with transaction.atomic():
                message.save(force_insert=True)
        except IntegrityError:
            return Message.objects.get(idempotency_key=message.idempotency_key)
    else:
        message.save(force_insert=True)
    if conversation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            message_count=F("message_count") + 1, last_message_at=message.created_at
        )
    return message


@transaction.atomic
def queue_messages(items: list[dict], *, lookup_existing: bool = True,
                   precounted: dict[int, int] | None = None) -> list[Message]:
    """Queue many messages at once (broadcasts, reminders): every item is validated first, then bulk inserted.

    Items take queue_message's arguments (or ``conversation_id`` for the thread). A key that exists already (or
    twice in ``items``) yields the existing (first) message and is not validated again. Returns the messages
    in the order of ``items``. ``lookup_existing=False``: the caller has just looked the keys up and found them
    new, so the lookup is skipped; a key that exists after all still yields the existing message (through the
    conflict path of queue_built), only validated first. ``precounted``: see queue_built.

    The hot path of a 10,000-recipient broadcast: existing keys are looked up first, new rows go in with one
    multi-row INSERT (COPY on PostgreSQL, sms.dbutil.insert_rows). Should a concurrent writer insert one of
    the keys in between, the batch falls back to the ORM's conflict-ignoring insert inside a savepoint, so the
    caller's transaction and the one-message-per-key rule both survive.
    """
    existing: dict[str, Message] = {}
    if lookup_existing:
        found = existing_keys(list(dict.fromkeys(k for k in map(_key_of, items) if k)))
        for start in range(0, len(found), 900):
            for message in Message.objects.filter(idempotency_key__in=found[start : start + 900]):
                existing[message.idempotency_key] = message
    built = build_messages(items, skip=existing)
    stored = queue_built([m for m in built if m is not None], precounted=precounted)
    by_key = {**existing, **{m.idempotency_key: m for m in stored if m.idempotency_key}}
    rest = iter(m for m in stored if not m.idempotency_key)
    return [by_key[m_key] if (m_key := _key_of(item)) else next(rest) for item in items]


def _key_of(item: dict) -> str | None:
    key = item.get("idempotency_key")
    return str(key).strip() if key is not None and str(key).strip() else None


def build_messages(items: list[dict], *, skip=()) -> list[Message | None]:
    """Validate and build each item as an unsaved Message (None for a key in ``skip``), touching no database:
    the half of queue_messages that is pure computation (bulk callers prepare a chunk with it, then write it
    with queue_built). Bad items raise one ValidationError that lists them all."""
    now = timezone.now()
    built: list[Message | None] = []
    errors = []
    for index, item in enumerate(items):
        key = _key_of(item)
        if key in skip:
            built.append(None)
            continue
        try:
            built.append(_build_message(now=now, bulk=True, **{**item, "idempotency_key": key}))
        except ValidationError as error:
            errors.append(
                ValidationError(_("Message %(n)d: %(error)s") % {"n": index + 1, "error": " ".join(error.messages)})
            )
    if errors:
        raise ValidationError(errors)
    return built


@transaction.atomic
def queue_built(messages: list[Message], *, precounted: dict[int, int] | None = None) -> list[Message]:
    """Insert messages build_messages made, in the caller's transaction; returns them in order, each with its
    primary key. A key repeated in ``messages`` or taken already (by an earlier or a concurrent writer) yields
    the stored message. ``precounted``: threads whose counters already include that many of these messages
    (threads the caller opened for them with their count); only a difference is added to those."""
    fresh: dict[str, Message] = {}
    unkeyed = []
    for message in messages:
        if message.idempotency_key:
            fresh.setdefault(message.idempotency_key, message)
        else:
            unkeyed.append(message)
    inserted = []
    if unkeyed:
        inserted += Message.objects.bulk_create(unkeyed, batch_size=1000)
    if fresh:
        inserted += _insert_keyed(list(fresh.values()))
    if messages:
        _count_in_threads(inserted, messages[0].created_at, precounted or {})
    return [fresh[m.idempotency_key] if m.idempotency_key else m for m in messages]


def _count_in_threads(messages: list[Message], at: datetime, precounted: dict[int, int]) -> None:
    """Add newly inserted outgoing messages to their threads' counters: one UPDATE per distinct count (a
    broadcast adds one message to each of thousands of threads), the threads locked in id order."""
    per_thread: dict[int, int] = {}
    for message in messages:
        if message.conversation_id:
            per_thread[message.conversation_id] = per_thread.get(message.conversation_id, 0) + 1
    for pk, count in precounted.items():
        per_thread[pk] = per_thread.get(pk, 0) - count
    by_count: dict[int, list[int]] = {}
    for pk, count in sorted(per_thread.items()):
        if count:
            by_count.setdefault(count, []).append(pk)
    later = Q(last_message_at__isnull=True) | Q(last_message_at__lt=at)
    size = any_chunk()
    for count, ids in sorted(by_count.items()):
        for start in range(0, len(ids), size):
            Conversation.objects.filter(pk__any=ids[start : start + size]).update(
                message_count=F("message_count") + count,
                last_message_at=Case(When(later, then=Value(at)), default=F("last_message_at")),
            )


def existing_keys(keys: list[str]) -> list[str]:
    """Those of ``keys`` some message has already (thousands per query on PostgreSQL, see dbutil.AnyOf)."""
    found: list[str] = []
    size = any_chunk()
    for start in range(0, len(keys), size):
        found += Message.objects.filter(idempotency_key__any=keys[start : start + size]).values_list(
            "idempotency_key", flat=True)
    return found


_BULK_FIELDS = ["direction", "number", "text", "encoding", "segments", "kind", "priority", "idempotency_key", "status",
                "conversation_id", "sender_id", "meta", "next_attempt_at", "attempts", "worker", "gateway",
                "error_code", "error_reason", "created_at", "queued_at"]


def _insert_keyed(messages: list[Message]) -> list[Message]:
    """Insert new keyed messages and give each its primary key; returns the ones this call inserted (all of
    them, unless a concurrent writer took some of the keys first: those get the writer's row). See
    queue_messages."""
    stamps: dict = {}

    def stamp(value):
        if value not in stamps:
            stamps[value] = db_datetime(value)
        return stamps[value]

    rows = [
        (m.direction, m.number, m.text, m.encoding, m.segments, m.kind, m.priority, m.idempotency_key, m.status,
         m.conversation_id, m.sender_id, json.dumps(m.meta) if m.meta else "{}",  # JSONField's own encoding
         stamp(m.next_attempt_at), 0, "", "", "", "", stamp(m.created_at), stamp(m.queued_at))
        for m in messages
    ]
    try:
        with transaction.atomic():
            ids = sequence_ids(Message, len(rows))
            if ids:  # PostgreSQL: ids drawn from the table's sequence first, then COPY (which returns nothing)
                insert_rows(Message, ["id", *_BULK_FIELDS], [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
                stored = {m.idempotency_key: pk for m, pk in zip(messages, ids, strict=True)}
            else:  # SQLite: the multi-row INSERT returns them
                stored = dict(insert_rows(Message, _BULK_FIELDS, rows, returning=["idempotency_key", "id"]))
    except (IntegrityError, connection.Database.IntegrityError):  # COPY raises the driver's own error
        # A concurrent writer took some of the keys: insert what is still missing, keep theirs.
        return _insert_keyed_slowly(messages)
    for message in messages:
        message.pk = stored[message.idempotency_key]
        message._state.adding = False
        message._state.db = Message.objects.db
    return messages


def _insert_keyed_slowly(messages: list[Message]) -> list[Message]:
    """The conflict path of _insert_keyed: the ORM's conflict-ignoring insert, then every row read back."""
    Message.objects.bulk_create(messages, batch_size=1000, ignore_conflicts=True)
    keys = [m.idempotency_key for m in messages]
    stored: dict[str, tuple] = {}
    for start in range(0, len(keys), 900):
        for key, pk, created_at in Message.objects.filter(idempotency_key__in=keys[start : start + 900]).values_list(
                "idempotency_key", "pk", "created_at"):
            stored[key] = (pk, created_at)
    mine = []
    for message in messages:
        pk, created_at = stored[message.idempotency_key]
        if created_at != message.created_at:  # a concurrent writer's row: return that one
            message.__dict__.update(Message.objects.get(pk=pk).__dict__)
            continue
        message.pk = pk
        message._state.adding = False
        message._state.db = Message.objects.db
        mine.append(message)
    return mine


def recount_conversations(conversation_ids: Iterable[int]) -> None:
    """Recompute the per-thread counters from the messages (an index on (conversation, id) makes it cheap)."""
    ids = list(conversation_ids)
    per_thread = Message.objects.filter(conversation=OuterRef("pk")).order_by().values("conversation")
    for start in range(0, len(ids), 500):
        Conversation.objects.filter(pk__in=ids[start : start + 500]).update(
            message_count=Coalesce(Subquery(per_thread.annotate(n=Count("id")).values("n")), 0),
            inbound_count=Coalesce(
                Subquery(per_thread.filter(direction=Message.Direction.IN).annotate(n=Count("id")).values("n")), 0
            ),
            last_message_at=Subquery(per_thread.annotate(at=Max("created_at")).values("at")),
        )


@transaction.atomic
def conversation_for(*, party_type: str, party_id, title: str, number: str = "") -> Conversation:
    """The thread with a party, created on first use; its title and current number follow the caller's."""
    e164 = phone.parse_mobile(number) if number else ""
    conversation, created = Conversation.objects.get_or_create(
        party_type=party_type, party_id=str(party_id), defaults={"title": title[:255], "number": e164}
    )
    if not created and (conversation.title != title[:255] or conversation.number != e164):
        conversation.title = title[:255]
        conversation.number = e164
        conversation.save(update_fields=["title", "number", "updated_at"])
    return conversation


@transaction.atomic
def send_manual(*, conversation: Conversation, text: str, sender) -> Message:
    """A staff member types a message in the Pesan dialog."""
    if not conversation.number:
        raise ValidationError(_("This conversation has no mobile number to send to."), code="no_number")
    message = queue_message(to=conversation.number, text=text, kind=Message.Kind.MANUAL, sender=sender,
                            conversation=conversation)
    transaction.on_commit(lambda: message_typed.send(sender=Message, message=message, user=sender))
    return message


def _inbound_number(raw: str) -> str:
    """Gateways hand over numbers in many shapes (62…, +62…, 08…, alphanumeric sender ids): normalise what
    can be normalised, keep the rest as given."""
    try:
        return phone.parse_mobile(raw)
    except ValidationError:
        digits = "".join(ch for ch in (raw or "") if ch.isalnum() or ch == "+")
        return digits[:20] or "?"


@transaction.atomic
def receive_message(*, number: str, text: str, gateway: str = "default", gateway_message_id: str = "",
                    received_at: datetime | None = None) -> Message:
    """Store an incoming SMS and route it to its thread (or leave it for the unknown-sender list).

    The same gateway message id twice (a gateway re-delivering after a lost acknowledgement) is stored once.
    Text and number pass through clean_text first: a gateway may hand over NUL, lone surrogates or control
    characters (UCS-2 and 8-bit payloads), which the database or a page cannot hold.
    """
    number, text = clean_text(number), clean_text(text)
    gateway_message_id = clean_text(gateway_message_id)[:150]
    key = f"in:{gateway}:{gateway_message_id}" if gateway_message_id else None
    if key:
        existing = Message.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
    e164 = _inbound_number(number)
    conversation = routing.route_inbound(e164)
    text = text or ""
    analysis = encoding.analyze(text)
    now = timezone.now()
    message = Message.objects.create(
        direction=Message.Direction.IN, number=e164, text=text, encoding=analysis.encoding,
        segments=max(1, analysis.segments), kind=Message.Kind.REPLY, priority=0, idempotency_key=key,
        status=Message.Status.RECEIVED, conversation=conversation, gateway=gateway,
        created_at=received_at or now, delivered_at=received_at or now,
    )
    if conversation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            message_count=F("message_count") + 1, inbound_count=F("inbound_count") + 1, last_message_at=now
        )
    transaction.on_commit(
        lambda: message_received.send(sender=Message, message=message, conversation=conversation)
    )
    return message


@transaction.atomic
def attach_number(*, number: str, party: routing.Party) -> Conversation:
    """Attach every unrouted message from a number to a party's thread (the Admin's unknown-sender list)."""
    conversation, created = Conversation.objects.get_or_create(
        party_type=party.party_type, party_id=str(party.party_id),
        defaults={"title": party.title[:255], "number": party.number or number},
    )
    moved = Message.objects.filter(conversation__isnull=True, number=number).update(conversation=conversation)
    if not moved:
        raise ValidationError(_("There are no unrouted messages from this number."), code="nothing")
    recount_conversations([conversation.pk])
    conversation.refresh_from_db()
    return conversation


@transaction.atomic
def cancel_messages(*, ids: Iterable[int]) -> int:
    """Withdraw queued messages (a broadcast stopped before it went out); others are left as they are."""
    return Message.objects.filter(pk__in=list(ids), status=Message.Status.QUEUED).update(
        status=Message.Status.CANCELLED, failed_at=timezone.now()
    )


def apply_delivery_reports(*, gateway: str, reports: list, now: datetime | None = None) -> int:
    """Record delivery reports on their parts, then settle each message: the worst part decides.

    Must run in a transaction (the worker's). Returns the number of messages whose status changed.
    """
    if not reports:
        return 0
    now = now or timezone.now()
    # A gateway may send anything as an id or a reason: what the columns cannot hold is cut, odd characters go.
    reports = [DeliveryReport(clean_text(r.gateway_message_id)[:64], r.delivered, clean_text(r.error_code)[:32],
                              clean_text(r.error_reason)[:255]) for r in reports]
    # Find the parts first and then update them by primary key: under READ COMMITTED every statement has its
    # own snapshot, so matching by gateway id twice could see a part the first statement did not.
    all_ids = [r.gateway_message_id for r in reports]
    parts: dict[str, tuple[int, int]] = {}
    reused: list[int] = []
    for start in range(0, len(all_ids), 900):
        # In id order, so that when an SMSC that restarted gave an id out again, the newest part owns it.
        for pk, gid, message_id in MessagePart.objects.filter(
            gateway=gateway, gateway_message_id__any=all_ids[start : start + 900]
        ).order_by("id").values_list("id", "gateway_message_id", "message_id"):
            if gid in parts:
                reused.append(parts[gid][0])
            parts[gid] = (pk, message_id)
    if reused:
        _note_reused_ids(gateway, reused)
    unmatched = [r for r in reports if r.gateway_message_id not in parts]
    if unmatched:
        # The part may still be on its way into our database (another worker between the gateway's answer
        # and its commit): keep the report and retry, instead of losing it as other gateways do.
        UnmatchedReport.objects.bulk_create([
            UnmatchedReport(gateway=gateway, gateway_message_id=r.gateway_message_id, delivered=r.delivered,
                            error_code=r.error_code[:32], error_reason=r.error_reason[:255], created_at=now)
            for r in unmatched
        ])
    delivered = [parts[r.gateway_message_id][0] for r in reports if r.delivered and r.gateway_message_id in parts]
    for start in range(0, len(delivered), 900):
        MessagePart.objects.filter(pk__any=delivered[start : start + 900], status=MessagePart.Status.SENT).update(
            status=MessagePart.Status.DELIVERED, updated_at=now
        )
    # Failures carry their own reason; group them so one UPDATE covers each distinct reason.
    by_reason: dict[tuple[str, str], list[int]] = {}
    for r in reports:
        if not r.delivered and r.gateway_message_id in parts:
            by_reason.setdefault((r.error_code, r.error_reason), []).append(parts[r.gateway_message_id][0])
    for (code, reason), pks in by_reason.items():
        for start in range(0, len(pks), 900):
            MessagePart.objects.filter(pk__any=pks[start : start + 900]).exclude(status=MessagePart.Status.FAILED).update(
                status=MessagePart.Status.FAILED, error_code=code[:32], error_reason=reason[:255], updated_at=now
            )
    message_ids = {message_id for _pk, message_id in parts.values()}
    return settle_messages(message_ids, now=now)


def _note_reused_ids(gateway: str, part_ids: list[int]) -> None:
    """Older parts whose gateway id an SMSC gave out again after a restart (it counts from 1 again): the newest
    part with the id owns it and gets its receipts; these are noted, and settled by expiry."""
    noted = MessagePart.objects.filter(pk__in=part_ids).exclude(error_code="id_reused").update(
        error_code="id_reused",
        error_reason="The gateway gave this message id to a newer message (it restarted); its receipt goes there",
    )
    if noted:
        log.warning("gateway %s gave out %d message id(s) again (the SMSC restarted and counts from 1 again?): "
                    "receipts for them go to the newest messages; the older ones are settled by expiry",
                    gateway, noted)


def retry_unmatched_reports(*, gateway: str, limit: int = 1000, max_age_hours: int = 48) -> int:
    """Apply kept reports whose parts have appeared since; drop those older than max_age_hours."""
    from django.db import connection

    now = timezone.now()
    UnmatchedReport.objects.filter(gateway=gateway, created_at__lt=now - timedelta(hours=max_age_hours)).delete()
    skip = {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}
    rows = list(UnmatchedReport.objects.select_for_update(**skip).filter(gateway=gateway).order_by("id")[:limit])
    if not rows:
        return 0
    UnmatchedReport.objects.filter(pk__in=[r.pk for r in rows]).delete()
    reports = [DeliveryReport(r.gateway_message_id, r.delivered, r.error_code, r.error_reason) for r in rows]
    return apply_delivery_reports(gateway=gateway, reports=reports, now=now)


def parts_settle(message_ids: list[int]) -> tuple[list[int], list[int]]:
    """What the parts of these messages say: (every part delivered, some part failed); the others wait. Every part
    of a message is recorded in the same transaction, so the parts present are all of them."""
    delivered, failed = [], []
    for pk, total, done, bad in (
        MessagePart.objects.filter(message_id__any=message_ids).values("message_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status=MessagePart.Status.DELIVERED)),
                  bad=Count("id", filter=Q(status=MessagePart.Status.FAILED)))
        .order_by().values_list("message_id", "total", "done", "bad")
    ):
        if bad:
            failed.append(pk)
        elif done == total:
            delivered.append(pk)
    return delivered, failed


def settle_messages(message_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Move SENT messages to DELIVERED (every part delivered) or FAILED (any part failed); a message marked
    NO_REPORT after expiry too (a late receipt still wins). A message still SENDING with its parts written is
    accepted too (its worker marks it at the end of its batch, daemon.finish_accepted): another worker that
    applies its receipt meanwhile settles it, and the batch end then leaves it as it is."""
    now = now or timezone.now()
    settleable = (*Message.SETTLEABLE_STATUSES, Message.Status.SENDING)
    accepted = {"sent_at": Coalesce("sent_at", Value(now)), "lease_until": None}
    ids = list(message_ids)
    changes: list[tuple[int, str, str]] = []
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        to_deliver, to_fail = parts_settle(chunk)
        if to_deliver:
            Message.objects.filter(pk__any=to_deliver, status__in=settleable).update(
                status=Message.Status.DELIVERED, delivered_at=now, error_code="", error_reason="", **accepted
            )
            changes += [(pk, Message.Status.SENT, Message.Status.DELIVERED) for pk in to_deliver]
        if to_fail:
            # The first failed part's reason becomes the message's reason.
            reasons = {}
            for part in (
                MessagePart.objects.filter(message_id__any=to_fail, status=MessagePart.Status.FAILED)
                .order_by("message_id", "seq")
                .values("message_id", "error_code", "error_reason")
            ):
                reasons.setdefault(part["message_id"], (part["error_code"], part["error_reason"]))
            by_reason: dict[tuple[str, str], list[int]] = {}
            for pk in to_fail:
                by_reason.setdefault(reasons.get(pk, ("", "")), []).append(pk)
            for (code, reason), pks in by_reason.items():
                Message.objects.filter(pk__any=pks, status__in=settleable).update(
                    status=Message.Status.FAILED, failed_at=now, error_code=code, error_reason=reason, **accepted
                )
            changes += [(pk, Message.Status.SENT, Message.Status.FAILED) for pk in to_fail]
    emit_status_changes(changes)
    return len(changes)


def emit_status_changes(changes: list[tuple[int, str, str]]) -> None:
    """Send message_status_changed after commit, only when someone listens (the worker's hot path)."""
    if not changes or not message_status_changed.has_listeners(Message):
        return

    def send():
        messages = Message.objects.in_bulk([pk for pk, _old, _new in changes])
        for pk, old, new in changes:
            if pk in messages:
                message_status_changed.send(sender=Message, message=messages[pk], old_status=old, new_status=new)

    transaction.on_commit(send)
