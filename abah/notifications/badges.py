"""The navbar bell (notifications) and envelope (Perpesanan): two indexed queries each."""

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from abah.core.formatting import relative

from . import selectors


def _mark_all_form(request, url_name: str, label: str):
    # Rendered inside the badge's dropdown; format_html escapes every value.
    return format_html(
        '<form method="post" action="{}" class="m-0">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="next" value="{}">'
        '<button type="submit" class="dropdown-item small text-center py-2" data-testid="{}">'
        '<i class="bi bi-check2-all"></i> {}</button></form>',
        reverse(url_name), get_token(request), request.get_full_path(), url_name.replace(":", "-"), label,
    )


def notifications_badge(request) -> dict:
    user = request.user
    count = selectors.unread_notification_count(user)
    items = []
    for n in selectors.latest_notifications(user):
        text = Truncator(n.text).chars(90)
        if n.count > 1:
            text = f"{text} (×{n.count})"
        items.append({
            "text": text, "url": reverse("notifications:open", args=[n.pk]),
            "when": relative(n.updated_at), "read": n.is_read,
        })
    actions = [_mark_all_form(request, "notifications:mark_all_read", _("Mark all as read"))] if count else []
    return {"count": count, "url": reverse("notifications:list"), "items": items, "actions": actions}


def messages_badge(request) -> dict:
    user = request.user
    count = selectors.unread_message_count(user)
    items = []
    for row in selectors.latest_inbox(user):
        message = row.message
        sender = message.sender.get_full_name() or message.sender.username
        items.append({
            "text": f"{sender}: {Truncator(message.subject).chars(70)}",
            "url": reverse("notifications:message_detail", args=[message.pk]),
            "when": relative(message.created_at), "read": row.read_at is not None,
        })
    actions = [format_html(
        '<a class="dropdown-item small text-center py-2" href="{}"><i class="bi bi-pencil-square"></i> {}</a>',
        reverse("notifications:compose"), _("New message"),
    )]
    if count:
        actions.append(_mark_all_form(request, "notifications:message_mark_all_read", _("Mark all as read")))
    return {"count": count, "url": reverse("notifications:inbox"), "items": items, "actions": actions}
