"""Reads for the navbar badges and the lists; every query is scoped to the requesting user."""

from django.db.models import Q

from .models import InternalMessage, MessageRecipient, Notification

BADGE_ITEMS = 6


def unread_notification_count(user) -> int:
    return Notification.objects.filter(user=user, is_read=False).count()


def latest_notifications(user, limit: int = BADGE_ITEMS):
    return list(Notification.objects.filter(user=user).order_by("-updated_at", "-id")[:limit])


def notifications_for(user):
    return Notification.objects.filter(user=user).select_related("actor").order_by("-updated_at", "-id")


def unread_message_count(user) -> int:
    return MessageRecipient.objects.filter(user=user, read_at__isnull=True).count()


def latest_inbox(user, limit: int = BADGE_ITEMS):
    return list(
        MessageRecipient.objects.filter(user=user)
        .select_related("message__sender")
        .order_by("-message_id")[:limit]
    )


def inbox_for(user, query: str = ""):
    qs = MessageRecipient.objects.filter(user=user).select_related("message__sender").order_by("-message_id")
    if query:
        qs = qs.filter(Q(message__subject__icontains=query) | Q(message__body__icontains=query))
    return qs


def sent_for(user, query: str = ""):
    qs = (
        InternalMessage.objects.filter(sender=user)
        .prefetch_related("recipients__user")
        .order_by("-created_at", "-id")
    )
    if query:
        qs = qs.filter(Q(subject__icontains=query) | Q(body__icontains=query))
    return qs


def message_visible_to(user, pk: int) -> InternalMessage | None:
    """The message if the user sent it or received it, else None (the view answers 404)."""
    return (
        InternalMessage.objects.filter(pk=pk)
        .filter(Q(sender=user) | Q(recipients__user=user))
        .select_related("sender", "parent")
        .distinct()
        .first()
    )
