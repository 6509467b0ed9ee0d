"""Registries through which other apps route inbound numbers to their threads and offer parties to attach.

The sms app knows no institutions. The grants app registers, in its AppConfig.ready():

    routing.register_inbound_router(fn)   # fn(e164) -> Conversation | None  (e.g. current or earlier contact)
    routing.register_party_search(fn)     # fn(query) -> list[Party]          (for the unknown-sender list)
    routing.register_party_lookup(party_type, fn)  # fn(party_id) -> Party | None  (attach: the party exists)
"""

from collections.abc import Callable
from dataclasses import dataclass

_ROUTERS: list[Callable] = []
_SEARCHES: list[Callable] = []
_LOOKUPS: dict[str, Callable] = {}


@dataclass(frozen=True)
class Party:
    """Something a thread can belong to, as offered to the Admin attaching an unknown number."""

    party_type: str
    party_id: str
    title: str
    number: str = ""


def register_inbound_router(fn: Callable) -> Callable:
    """``fn(e164: str) -> Conversation | None``; the first router that answers wins. Usable as a decorator."""
    if fn not in _ROUTERS:
        _ROUTERS.append(fn)
    return fn


def register_party_search(fn: Callable) -> Callable:
    """``fn(query: str) -> list[Party | tuple(party_type, party_id, title, number)]``. Usable as a decorator."""
    if fn not in _SEARCHES:
        _SEARCHES.append(fn)
    return fn


def register_party_lookup(party_type: str, fn: Callable) -> Callable:
    """``fn(party_id: str) -> Party | None``: the party of this type with this id, None when there is none.
    Only registered party types can be attached to (``lookup_party``)."""
    _LOOKUPS[party_type] = fn
    return fn


def unregister(fn: Callable) -> None:
    for registry in (_ROUTERS, _SEARCHES):
        if fn in registry:
            registry.remove(fn)
    for party_type in [key for key, value in _LOOKUPS.items() if value is fn]:
        del _LOOKUPS[party_type]


def lookup_party(party_type: str, party_id) -> Party | None:
    """The registered party of this type and id (its title and number as its app knows them), else None: an
    unknown party type, or an id of nothing."""
    fn = _LOOKUPS.get(party_type or "")
    if fn is None or party_id in (None, ""):
        return None
    found = fn(str(party_id))
    if found is None:
        return None
    return found if isinstance(found, Party) else Party(*found)


def route_inbound(e164: str):
    """The thread an inbound number belongs to: registered routers first, then the thread whose current
    number it is, then the thread of the latest message we sent to it; None when nobody knows it."""
    from .models import Conversation, Message

    for router in _ROUTERS:
        conversation = router(e164)
        if conversation is not None:
            return conversation
    conversation = Conversation.objects.filter(number=e164).order_by("-last_message_at", "-id").first()
    if conversation is not None:
        return conversation
    last = (
        Message.objects.filter(number=e164, conversation__isnull=False)
        .order_by("-id")
        .select_related("conversation")
        .first()
    )
    return last.conversation if last else None


def search_parties(query: str, limit: int = 20) -> list[Party]:
    """Parties matching a query from every registered search, plus existing threads by title or number."""
    from .models import Conversation

    query = (query or "").strip()
    if not query:
        return []
    found: list[Party] = []
    for search in _SEARCHES:
        for item in search(query) or []:
            found.append(item if isinstance(item, Party) else Party(*item))
    for conv in Conversation.objects.filter(title__icontains=query).order_by("title")[:limit]:
        found.append(Party(conv.party_type, conv.party_id, conv.title, conv.number))
    unique: dict[tuple[str, str], Party] = {}
    for party in found:
        unique.setdefault((party.party_type, str(party.party_id)), party)
    return list(unique.values())[:limit]
