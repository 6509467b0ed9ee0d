"""Many texts to many institutions at once (LPJ reminders, broadcasts): load, render, queue in bulk.

The per-message path (``abah.grants.messaging.queue_to_institution``) costs a few queries per message;
these helpers do the same work with a handful of queries in all: one for the grants with their institution,
current contact and Pesan thread, one INSERT for the threads still missing, then ``sms.services.queue_messages``
per chunk.
"""

import dataclasses
import re
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import FilteredRelation, Q
from django.utils import timezone

from abah.grants.messaging import PARTY_TYPE
from abah.sms.dbutil import any_chunk, db_datetime, insert_rows, sequence_ids
from abah.sms.models import Conversation

CHUNK = 900  # stays under every database's bound-parameter limit
E164 = re.compile(r"\+[1-9]\d{7,14}")


def chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclasses.dataclass(slots=True)
class ContactRow:
    person: str
    phone: str


@dataclasses.dataclass(slots=True)
class ThreadRow:
    pk: int
    title: str
    number: str


@dataclasses.dataclass(slots=True)
class InstitutionRow:
    pk: int
    name: str
    bank_name: str
    account_number: str
    current_contact: ContactRow | None
    thread: ThreadRow | None = None  # its Pesan thread, when it has one already

    @property
    def contact_phone(self) -> str:
        return self.current_contact.phone if self.current_contact else ""


@dataclasses.dataclass(slots=True)
class GrantRow:
    """What a text needs from a grant, read without building model instances (thousands per second).

    Duck-types the attributes ``templating.grant_context`` reads from a Grant.
    """

    pk: int
    kode: str
    fiscal_year: int
    jenis: str
    nominal: object
    lpj_due_date: object
    petugas_id: int | None
    status: str
    institution: InstitutionRow

    @property
    def institution_id(self) -> int:
        return self.institution.pk


GRANT_COLUMNS = ("pk", "kode", "fiscal_year", "jenis", "amount_approved", "amount_recommended", "amount_requested",
                 "lpj_due_date", "petugas_id", "status", "institution_id", "institution__name",
                 "institution__bank_name", "institution__account_number", "current__person", "current__phone")


def load_grants(grants) -> list[GrantRow]:
    """The grants of a queryset (in id order) with their institution, its current contact (a join) and its
    Pesan thread, as GrantRow: two queries whatever their number, no list of grant ids sent anywhere."""
    values = (
        grants.order_by("pk")
        .annotate(current=FilteredRelation("institution__contacts",
                                           condition=Q(institution__contacts__is_current=True)))
        .values_list(*GRANT_COLUMNS)
    )
    rows = []
    institutions: dict[int, InstitutionRow] = {}  # shared by its grants: a thread opened for one serves all
    for (pk, kode, year, jenis, approved, recommended, requested, due, petugas_id, status, institution_id, name,
         bank, account, person, phone) in values.iterator(chunk_size=5000):
        nominal = next((v for v in (approved, recommended, requested) if v is not None), None)  # Grant.nominal
        institution = institutions.get(institution_id)
        if institution is None:
            current = ContactRow(person, phone) if phone is not None else None
            institution = institutions[institution_id] = InstitutionRow(institution_id, name, bank, account, current)
        rows.append(GrantRow(pk, kode, year, jenis, nominal, due, petugas_id, status, institution))
    for institution_id, thread in _threads_of(list(institutions)).items():
        institutions[institution_id].thread = thread
    return rows


def _threads_of(institution_ids: list[int]) -> dict[int, ThreadRow]:
    """The existing Pesan threads of these institutions."""
    threads = {}
    for chunk in chunks(institution_ids, any_chunk()):
        found = Conversation.objects.filter(party_type=PARTY_TYPE, party_id__any=[str(pk) for pk in chunk])
        threads.update({int(party_id): ThreadRow(pk, title, number)
                        for pk, party_id, title, number in found.values_list("pk", "party_id", "title", "number")})
    return threads


def valid_number(grant: GrantRow) -> str:
    """The E.164 number of the grant's institution, or "" when it has no usable mobile number.

    Contacts are stored validated (grants.services.contact_set parses them); queue_messages parses again.
    """
    contact = grant.institution.current_contact
    if contact is None or not contact.phone or not E164.fullmatch(contact.phone):
        return ""
    return contact.phone


def institution_threads(grants: list[GrantRow], *, counts: dict[int, int] | None = None
                        ) -> tuple[dict[int, int], dict[int, int]]:
    """Each institution's Pesan thread id (created when missing), keyed by institution id, and the threads
    opened here with ``counts[institution]`` messages already counted (for queue_messages' ``precounted``).

    The threads load_grants found are used as they are (their title and number brought in line with the
    institution, as conversation_for does); the missing ones are created in one multi-row INSERT, with their
    message count and last message time set, which spares updating them again a moment later."""
    counts = counts or {}
    institutions = {g.institution_id: g.institution for g in grants}
    threads: dict[int, int] = {}
    for pk, institution in institutions.items():
        known = institution.thread
        if known is None:
            continue
        threads[pk] = known.pk
        title, number = institution.name[:255], institution.contact_phone
        if known.title != title or known.number != number:
            Conversation.objects.filter(pk=known.pk).update(title=title, number=number, updated_at=timezone.now())
            known.title, known.number = title, number
    missing = [pk for pk in institutions if pk not in threads]
    if not missing:
        return threads, {}
    stamp = db_datetime(timezone.now())
    rows = [(PARTY_TYPE, str(pk), institutions[pk].name[:255], institutions[pk].contact_phone, counts.get(pk, 0), 0,
             stamp if counts.get(pk) else None, stamp, stamp) for pk in missing]
    fields = ["party_type", "party_id", "title", "number", "message_count", "inbound_count", "last_message_at",
              "created_at", "updated_at"]
    try:
        with transaction.atomic():  # one multi-row INSERT (COPY on PostgreSQL): a first broadcast opens 10,000
            ids = sequence_ids(Conversation, len(rows))
            if ids:
                insert_rows(Conversation, ["id", *fields], [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
                opened = dict(zip(missing, ids, strict=True))
            else:
                opened = {int(party): pk for party, pk in insert_rows(Conversation, fields, rows,
                                                                      returning=["party_id", "id"])}
    except (IntegrityError, connection.Database.IntegrityError):  # a concurrent writer opened some of them
        Conversation.objects.bulk_create([
            Conversation(party_type=PARTY_TYPE, party_id=str(pk), title=institutions[pk].name[:255],
                         number=institutions[pk].contact_phone)
            for pk in missing
        ], batch_size=CHUNK, ignore_conflicts=True)
        opened = {}  # counted by queue_messages, as threads that existed
        for chunk in chunks([str(pk) for pk in missing]):
            for pk, party_id in Conversation.objects.filter(party_type=PARTY_TYPE, party_id__in=chunk).values_list(
                    "pk", "party_id"):
                threads[int(party_id)] = pk
    precounted = {}
    for institution_id, pk in opened.items():
        threads[institution_id] = pk
        if counts.get(institution_id):
            precounted[pk] = counts[institution_id]
    for institution_id in missing:
        institution = institutions[institution_id]
        institution.thread = ThreadRow(threads[institution_id], institution.name[:255], institution.contact_phone)
    return threads, precounted
