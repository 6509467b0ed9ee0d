"""Who hears of a text that did not reach its recipient: no delivery report in time
(``abah.sms.signals.messages_unreported``, here) or a permanent failure (``abah.notifications.failed``). Both go
through ``tell()``: the same people, one notification per user for the whole batch, in words.

A typed message tells the staff member who typed it (its ``sender``). An automatic text (invitation,
disbursement, billing, broadcast) tells whoever an app that knows the thread's party says is responsible
(``register_responsible``: the grants app names the petugas of the institution's grants), else the Admins.
Verification codes and notification copies tell nobody: their recipient is the person themself.

One notification per user per batch, whatever the number of messages in it; ``expire_unreported`` sends each
message in exactly one batch, so nobody is told twice about the same text.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from abah.core.formatting import tanggal, to_wib
from abah.sms import phone
from abah.sms.dbutil import any_chunk
from abah.sms.models import Message

from .models import Notification
from .services import notify

log = logging.getLogger(__name__)

# Kinds whose recipient is the person concerned: nobody else is told.
SILENT_KINDS = frozenset({Message.Kind.CODE, Message.Kind.NOTIFICATION})
SHOWN_NAMES = 3

# fn(messages without a sender) -> {message id: [users responsible]} for the messages it can tell.
Responsible = Callable[[list[Message]], dict[int, list]]
_responsible: list[Responsible] = []


def register_responsible(fn: Responsible) -> None:
    """Called from an app's ready(): it names who is responsible for automatic texts to its parties."""
    if fn not in _responsible:
        _responsible.append(fn)


def _admins() -> list:
    User = get_user_model()
    return list(User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("id"))


def recipients(messages: list[Message]) -> dict[int, tuple[object, list[Message]]]:
    """user id -> (user, that user's messages, oldest first) for the messages someone must hear of."""
    grouped: dict[int, tuple[object, list[Message]]] = {}

    def add(user, message):
        grouped.setdefault(user.pk, (user, []))[1].append(message)

    unowned = []
    for message in messages:
        if message.kind in SILENT_KINDS:
            continue
        if message.sender_id and message.sender.is_active:
            add(message.sender, message)
        else:
            unowned.append(message)
    by_id = {m.pk: m for m in unowned}
    told: set[int] = set()
    for fn in _responsible:
        left = [m for m in unowned if m.pk not in told]
        if not left:
            break
        for message_id, users in fn(left).items():
            users = [u for u in users if u.is_active]
            if users and message_id in by_id and message_id not in told:
                told.add(message_id)
                for user in users:
                    add(user, by_id[message_id])
    rest = [m for m in unowned if m.pk not in told]
    if rest:
        admins = _admins()
        if not admins:
            log.warning("%d message(s) without a delivery report and nobody to tell (no active Admin)", len(rest))
        for admin in admins:
            for message in rest:
                add(admin, message)
    for _user, items in grouped.values():
        items.sort(key=lambda m: m.pk)
    return grouped


def when(value: datetime) -> str:
    """30 November 2018 14:05 WIB."""
    value = to_wib(value)
    return f"{tanggal(value)} {value:%H:%M} WIB"


def party(message: Message) -> str:
    if message.conversation_id:
        return message.conversation.title
    return phone.national(message.number) or message.number


def names(messages: list[Message]) -> str:
    """Up to SHOWN_NAMES parties (institutions, else numbers), then "dan N lainnya"."""
    names = list(dict.fromkeys(party(m) for m in messages))
    if len(names) <= SHOWN_NAMES:
        return ", ".join(names)
    more = len(names) - SHOWN_NAMES
    return ngettext("%(names)s and %(count)s other", "%(names)s and %(count)s others", more) % {
        "names": ", ".join(names[:SHOWN_NAMES]), "count": more}


def text_for(messages: list[Message]) -> str:
    """What happened, in words (in the active language)."""
    first = messages[0]
    if len(messages) == 1:
        return _("No delivery report for the SMS to %(to)s sent %(when)s: we do not know whether it arrived.") % {
            "to": party(first), "when": when(first.sent_at or first.created_at)}
    sent = sorted(m.sent_at or m.created_at for m in messages)
    return _("No delivery report for %(count)s SMS to %(to)s, sent %(first)s to %(last)s: we do not know whether "
             "they arrived.") % {"count": len(messages), "to": names(messages), "first": when(sent[0]),
                                 "last": when(sent[-1])}


def _link(messages: list[Message]) -> tuple[object, str]:
    """The thread when every message is in one (its messages in UCP > Pesan, its dialog opened), else the list
    of messages without a report."""
    threads = {m.conversation_id for m in messages}
    base = reverse("sms:message_list")
    if len(threads) == 1 and None not in threads:
        conversation = messages[0].conversation
        return conversation, f"{base}?{urlencode({'thread': conversation.pk})}"
    return None, f"{base}?{urlencode({'status': Message.Status.NO_REPORT})}"


def _load(message_ids: list[int]) -> list[Message]:
    found: list[Message] = []
    step = any_chunk()
    for start in range(0, len(message_ids), step):
        found += (
            Message.objects.filter(id__any=message_ids[start : start + step], status=Message.Status.NO_REPORT,
                                   direction=Message.Direction.OUT)
            .exclude(kind__in=SILENT_KINDS)
            .select_related("conversation", "sender")
        )
    return found


def tell(messages: list[Message], *, kind: str, text_for: Callable[[list[Message]], str],
         link_for: Callable[[list[Message]], tuple[object, str]]) -> int:
    """One notification of ``kind`` per user concerned (``recipients``) for all of ``messages``, in the caller's
    transaction; returns how many users were told."""
    told = 0
    for user, items in recipients(messages).values():
        with override(settings.LANGUAGE_CODE):  # notification texts are stored in the site's language
            text = text_for(items)
        target, url = link_for(items)
        notify(user=user, kind=kind, text=text, target=target, url=url)
        told += 1
    return told


def on_messages_unreported(sender, message_ids, **kwargs):
    """Notify each user concerned once for the batch (after commit, from the worker)."""
    # A message a late receipt settled in the meantime is no longer news.
    messages = _load(list(message_ids))
    if not messages:
        return
    tell(messages, kind=Notification.Kind.MESSAGE_UNREPORTED, text_for=text_for, link_for=_link)
