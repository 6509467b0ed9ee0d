"""Many texts to many institutions at once (LPJ reminders, broadcasts): load, render, queue in bulk.

The per-message path (``abah.grants.messaging.queue_to_institution``) costs a few queries per message;
these helpers do the same work with a handful of queries per chunk: grants with their institution and
current contact, every Pesan thread at once, then one ``sms.services.queue_messages`` call.
"""

import dataclasses
import re
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from abah.grants.messaging import PARTY_TYPE
from abah.grants.models import Contact, Grant
from abah.sms.dbutil import db_datetime, insert_rows
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
class InstitutionRow:
    pk: int
    name: str
    bank_name: str
    account_number: str
    current_contact: ContactRow | None

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
                 "institution__bank_name", "institution__account_number")


def load_grants(grant_ids: list[int]) -> list[GrantRow]:
    """The grants (in id order) with their institution and its current contact, as GrantRow."""
    rows = []
    for chunk in chunks(sorted(grant_ids)):
        values = list(Grant.objects.filter(pk__in=chunk).order_by("pk").values_list(*GRANT_COLUMNS))
        contacts = {
            institution_id: ContactRow(person, phone)
            for institution_id, person, phone in Contact.objects.filter(
                institution_id__in={v[10] for v in values}, is_current=True
            ).values_list("institution_id", "person", "phone")
        }
        for (pk, kode, year, jenis, approved, recommended, requested, due, petugas_id, status, institution_id,
             name, bank, account) in values:
            nominal = next((v for v in (approved, recommended, requested) if v is not None), None)  # Grant.nominal
            institution = InstitutionRow(institution_id, name, bank, account, contacts.get(institution_id))
            rows.append(GrantRow(pk, kode, year, jenis, nominal, due, petugas_id, status, institution))
    return rows


def valid_number(grant: GrantRow) -> str:
    """The E.164 number of the grant's institution, or "" when it has no usable mobile number.

    Contacts are stored validated (grants.services.contact_set parses them); queue_messages parses again.
    """
    contact = grant.institution.current_contact
    if contact is None or not contact.phone or not E164.fullmatch(contact.phone):
        return ""
    return contact.phone


def institution_threads(grants: list[GrantRow]) -> dict[int, Conversation]:
    """Each institution's Pesan thread (created when missing), keyed by institution id, in a few queries."""
    institutions = {g.institution_id: g.institution for g in grants}
    ids = [str(pk) for pk in institutions]
    threads: dict[int, Conversation] = {}
    for chunk in chunks(ids):
        for conversation in Conversation.objects.filter(party_type=PARTY_TYPE, party_id__in=chunk):
            threads[int(conversation.party_id)] = conversation
    missing = [pk for pk in institutions if pk not in threads]
    if missing:
        now = timezone.now()
        stamp = db_datetime(now)
        rows = [(PARTY_TYPE, str(pk), institutions[pk].name[:255], institutions[pk].contact_phone, 0, 0, stamp, stamp)
                for pk in missing]
        try:
            with transaction.atomic():  # one multi-row INSERT (COPY on PostgreSQL): a first broadcast opens 10,000
                insert_rows(Conversation, ["party_type", "party_id", "title", "number", "message_count",
                                           "inbound_count", "created_at", "updated_at"], rows)
        except (IntegrityError, connection.Database.IntegrityError):  # a concurrent writer opened some of them
            Conversation.objects.bulk_create([
                Conversation(party_type=PARTY_TYPE, party_id=str(pk), title=institutions[pk].name[:255],
                             number=institutions[pk].contact_phone)
                for pk in missing
            ], batch_size=CHUNK, ignore_conflicts=True)
        for chunk in chunks([str(pk) for pk in missing]):
            for conversation in Conversation.objects.filter(party_type=PARTY_TYPE, party_id__in=chunk):
                threads[int(conversation.party_id)] = conversation
    for pk, conversation in threads.items():
        # The thread follows the institution's name and current number, as conversation_for does.
        institution = institutions[pk]
        number = institution.contact_phone
        if conversation.title != institution.name[:255] or conversation.number != number:
            conversation.title, conversation.number = institution.name[:255], number
            conversation.save(update_fields=["title", "number", "updated_at"])
    return threads
