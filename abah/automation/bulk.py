"""Many texts to many institutions at once (LPJ reminders, broadcasts): load, render, queue in bulk.

The per-message path (``abah.grants.messaging.queue_to_institution``) costs a few queries per message;
these helpers do the same work with a handful of queries per chunk: grants with their institution and
current contact, every Pesan thread at once, then one ``sms.services.queue_messages`` call.
"""

import re
from collections.abc import Iterable

from abah.grants.messaging import PARTY_TYPE
from abah.grants.models import Contact, Grant
from abah.sms.models import Conversation

CHUNK = 900  # stays under every database's bound-parameter limit
E164 = re.compile(r"\+[1-9]\d{7,14}")
# What a text needs from a grant (abah.automation.templating.grant_context); the rest is not loaded.
GRANT_FIELDS = ("kode", "fiscal_year", "jenis", "amount_requested", "amount_recommended", "amount_approved",
                "lpj_due_date", "petugas_id", "status", "institution_id", "institution__name",
                "institution__bank_name", "institution__account_number")


def chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_grants(grant_ids: list[int]) -> list[Grant]:
    """Grants with their institution and its current contact cached (``institution.current_contact``)."""
    grants = []
    for chunk in chunks(grant_ids):
        batch = list(Grant.objects.filter(pk__in=chunk).select_related("institution").only(*GRANT_FIELDS)
                     .order_by("pk"))
        contacts = {c.institution_id: c for c in Contact.objects.filter(
            institution_id__in={g.institution_id for g in batch}, is_current=True)}
        for grant in batch:
            contact = contacts.get(grant.institution_id)
            grant.institution.current_contacts = [contact] if contact else []
        grants += batch
    return grants


def valid_number(grant: Grant) -> str:
    """The E.164 number of the grant's institution, or "" when it has no usable mobile number.

    Contacts are stored validated (grants.services.contact_set parses them); queue_messages parses again.
    """
    contact = grant.institution.current_contact
    if contact is None or not contact.phone or not E164.fullmatch(contact.phone):
        return ""
    return contact.phone


def institution_threads(grants: list[Grant]) -> dict[int, Conversation]:
    """Each institution's Pesan thread (created when missing), keyed by institution id, in a few queries."""
    institutions = {g.institution_id: g.institution for g in grants}
    ids = [str(pk) for pk in institutions]
    threads: dict[int, Conversation] = {}
    for chunk in chunks(ids):
        for conversation in Conversation.objects.filter(party_type=PARTY_TYPE, party_id__in=chunk):
            threads[int(conversation.party_id)] = conversation
    missing = [pk for pk in institutions if pk not in threads]
    if missing:
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
