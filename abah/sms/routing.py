"""Registries through which other apps route inbound numbers to their threads and offer parties to attach.

The sms app knows no institutions. The grants app registers, in its AppConfig.ready():

    routing.register_inbound_router(fn)   # fn(e164) -> Conversation | None  (e.g. current or earlier contact)
    routing.register_party_search(fn)     # fn(query) -> list[Party]          (for the unknown-sender list)
"""

from collections.abc import Callable
from dataclasses import dataclass

_ROUTERS: list[Callable] = []
_SEARCHES: list[Callable] = []


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


def unregister(fn: Callable) -> None:
    for registry in (_ROUTERS, _SEARCHES):
        if fn in registry:
            registry.remove(fn)


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
