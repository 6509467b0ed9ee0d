"""Where grants meet the SMS Center: an institution's Pesan thread, inbound routing, and queuing a text to it.

The sms app knows no institutions; this module gives it the party type ``grants.institution`` (the thread's
party id is the institution's primary key), routes inbound numbers to the institution whose current — or
else earlier — contact uses them, and lets the Admin attach an unknown number to an institution.
"""

from django.db import transaction

from abah.sms import routing
from abah.sms import services as sms_services
from abah.sms.models import Conversation, Message

from .models import Contact, Institution

PARTY_TYPE = "grants.institution"


def institution_conversation(institution: Institution) -> Conversation:
    """The institution's thread (created on first use), following its current contact number."""
    contact = institution.current_contact
    return sms_services.conversation_for(
        party_type=PARTY_TYPE, party_id=institution.pk, title=institution.name, number=contact.phone if contact else ""
    )


def institution_of(conversation: Conversation) -> Institution | None:
    if conversation is None or conversation.party_type != PARTY_TYPE:
        return None
    return Institution.objects.filter(pk=conversation.party_id).first()


@transaction.atomic
def queue_to_institution(*, institution: Institution, text: str, kind: str, idempotency_key: str, sender=None,
                         priority: int | None = None, send_after=None, meta: dict | None = None) -> Message:
    """Queue a text to the institution's current contact, in the caller's transaction, in its Pesan thread.

    Raises ValidationError when the institution has no valid mobile number.
    """
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    contact = institution.current_contact
    if contact is None or not contact.phone:
        raise ValidationError(
            _("%(name)s has no contact number; add one with Kontak first.") % {"name": institution.name},
            code="no_contact",
        )
    conversation = institution_conversation(institution)
    return sms_services.queue_message(
        to=contact.phone, text=text, kind=kind, idempotency_key=idempotency_key, sender=sender,
        conversation=conversation, priority=priority, send_after=send_after, meta=meta,
    )


def route_inbound(e164: str) -> Conversation | None:
    """The thread of the institution whose current contact has this number, else of the latest earlier one."""
    contact = (
        Contact.objects.filter(phone=e164)
        .select_related("institution")
        .order_by("-is_current", "-created_at", "-id")
        .first()
    )
    if contact is None:
        return None
    return institution_conversation(contact.institution)


def search_institutions(query: str) -> list[routing.Party]:
    from django.db.models import Prefetch

    from .search import institutions_named, normalise

    current = Prefetch("contacts", queryset=Contact.objects.filter(is_current=True), to_attr="current_contacts")
    institutions = (
        Institution.objects.filter(pk__in=institutions_named(normalise(query)))
        .prefetch_related(current)
        .order_by("name")[:20]
    )
    return [
        routing.Party(PARTY_TYPE, str(i.pk), i.name, i.current_contact.phone if i.current_contact else "")
        for i in institutions
    ]


def lookup_institution(party_id: str) -> routing.Party | None:
    """The institution a thread would belong to (the Admin's attach), None when there is no such institution."""
    from abah.core.params import parse_int

    pk = parse_int(party_id)
    institution = Institution.objects.filter(pk=pk).first() if pk else None
    if institution is None:
        return None
    contact = institution.current_contact
    return routing.Party(PARTY_TYPE, str(institution.pk), institution.name, contact.phone if contact else "")


def register() -> None:
    """Called from GrantsConfig.ready()."""
    routing.register_inbound_router(route_inbound)
    routing.register_party_search(search_institutions)
    routing.register_party_lookup(PARTY_TYPE, lookup_institution)
