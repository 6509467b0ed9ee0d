"""Views of the SMS Center: UCP > Pesan, the Pesan dialog, unknown senders, virtual phones, status page."""

import hashlib
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from abah.core.access import admin_required, is_admin, staff_required
from abah.core.formatting import WIB
from abah.core.params import date_param, id_param, int_param, parse_int, text_param
from abah.core.text import clean_data, param

from . import access, conf, phone, routing, search, services
from .forms import ConversationSendForm
from .models import Conversation, Message, SimulatorDelivery, SimulatorInbound, WorkerHeartbeat

PAGE_SIZE = 50
THREAD_WINDOW = 50  # messages the Pesan dialog opens with; earlier ones load on demand
THREAD_MAX = 500  # at most this many in one re-render of an open dialog
# The open dialog, UCP > Pesan and the appointment page ask this often whether anything changed (htmx polling of
# a small partial; "204 No Content" when nothing did). bench/live.py measures what 50 open dialogs cost.
POLL_SECONDS = 4
CAPPED_COUNT = 1000
TITLE_MATCHES = 200  # threads whose title matches a search; a longer list means the query is too vague


# ---------------------------------------------------------------- UCP > Pesan


def _filtered_messages(params):
    """The list's queryset and whether any filter is active; every filter uses an index or the id order."""
    qs = Message.objects.all()
    active = False
    direction = params.get("direction", "")
    if direction in Message.Direction.values:
        qs, active = qs.filter(direction=direction), True
    status = params.get("status", "")
    if status in Message.Status.values:
        qs, active = qs.filter(status=status), True
    kind = params.get("kind", "")
    if kind in Message.Kind.values:
        qs, active = qs.filter(kind=kind), True
    gateway = params.get("gateway", "")
    if gateway:
        qs, active = qs.filter(gateway=gateway), True
    thread = id_param(params, "thread")
    if thread:  # one Pesan thread (a notification's link), by the (conversation, id) index
        qs, active = qs.filter(conversation_id=thread), True
    start, end = date_param(params, "from"), date_param(params, "to")
    if start:
        qs, active = qs.filter(created_at__gte=datetime.combine(start, time.min, tzinfo=WIB)), True
    if end:
        qs, active = qs.filter(created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=WIB)), True
    narrowed = active
    query = text_param(params, "q")
    text_search = None
    if query:
        active = True
        number = _as_number(query)
        if number:
            qs = qs.filter(number=number)
        else:
            text_search = _TextSearch(_digits_or(query), narrowed, by_key=params.get("scan") == "1")
    return qs, active, text_search


def _as_number(query: str) -> str:
    """The E.164 form of a query that is a complete mobile number, else ""."""
    compact = query.replace(" ", "").replace("-", "").replace(".", "")
    if compact.lstrip("+").isdigit() and len(compact) >= 8:
        try:
            return phone.parse_mobile(query)
        except ValidationError:
            return ""
    return ""


def _digits_or(query: str) -> str:
    """A part of a number ("0812309…" is stored "+62812309…") is searched without its trunk zero."""
    compact = query.replace(" ", "").replace("-", "").replace(".", "")
    if compact.lstrip("+").isdigit():
        return compact.lstrip("+").lstrip("0") or compact
    return query


class _TextSearch:
    """Text, number or institution, answered by indexes instead of reading a million messages.

    Two branches, merged newest first: texts and numbers, walked from the newest message down by
    ``search.walk`` (abah/sms/search.py; each step checked against the other filters); and the threads whose
    title matches (a small table), through the (conversation, id) index. Collecting stops at ``need`` ids or
    at the walk's budget; the count is then "more than …".
    """

    def __init__(self, query: str, narrowed: bool, by_key: bool = False):
        self.query = query
        self.narrowed = narrowed  # other filters apply: candidates must be checked against them
        self.by_key = by_key  # a continuation of a search the trigram index could not answer in time

    @staticmethod
    def _accept(qs):
        def accept(ids: list[int]) -> list[int]:
            kept = []
            for start in range(0, len(ids), 5000):
                kept += qs.filter(id__any=ids[start : start + 5000]).order_by("-id").values_list("id", flat=True)
            return kept

        return accept

    def ids(self, qs, *, before: int | None, need: int) -> tuple[list[int], int]:
        """Up to ``need`` matching ids below ``before``, newest first, and where to resume when the walk stopped
        at its budget before finding ``need`` (0: these are all there are, or ``need`` were found)."""
        titles = list(
            Conversation.objects.filter(title__icontains=self.query).values_list("id", flat=True)[:TITLE_MATCHES]
        )
        below = Q(pk__lt=before) if before else Q()
        if not search.usable(self.query):  # one or two characters: beyond a trigram index, a bounded scan
            match = Q(text__icontains=self.query) | Q(number__contains=self.query)
            if titles:
                match |= Q(conversation_id__in=titles)
            found = list(qs.filter(below, match).order_by("-id").values_list("id", flat=True)[:need])
            return found, 0
        if before:
            top = before
        else:
            top = (Message.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        notes: dict = {}
        # Candidates are always checked against qs: it carries the privacy rule (abah.sms.access) even when no
        # other filter is active.
        by_text, text_floor = search.walk(self.query, top=top, need=need, by_key=self.by_key, notes=notes,
                                          accept=self._accept(qs))
        self.by_key = notes.get("by_key", False)
        by_title, title_floor = [], 0
        if titles:
            # Without other filters the (conversation, id) index alone lists the threads' newest messages; the
            # privacy rule (in qs) then checks those few by key, instead of reading every message of the threads.
            source = qs if self.narrowed else Message.objects.all()
            listed = list(source.filter(below, conversation_id__in=titles).order_by("-id")
                          .values_list("id", flat=True)[:need])
            by_title = listed if self.narrowed else self._accept(qs)(listed)
            title_floor = listed[-1] if len(listed) == need else 0
        floor = max(text_floor, title_floor)  # every match at or above it, from either branch, is at hand
        merged = sorted({i for i in (*by_text, *by_title) if i >= floor}, reverse=True)
        return merged[:need], floor if len(merged) < need else 0


LIVE_WATCH = 200  # at most this many shown rows whose mark may still change are checked per poll
LIVE_NEW = PAGE_SIZE  # at most this many new rows are added per poll (more: the newest, and "reload" is right)


def _watched(params) -> dict[int, str]:
    """The ``watch`` parameter of a live poll: "id.status,…" of the shown rows whose mark may still change."""
    watched: dict[int, str] = {}
    for part in text_param(params, "watch", max_length=LIVE_WATCH * 32).split(",")[:LIVE_WATCH]:
        pk, _dot, status = part.partition(".")
        pk = parse_int(pk)
        if pk and status in Message.Status.values:
            watched[pk] = status
    return watched


def _message_list_live(request, qs, text_search, filtered):
    """UCP > Pesan's poll (every POLL_SECONDS while the tab is visible): rows newer than the newest shown one that
    match the page's filters, and the shown rows whose mark changed. Nothing: 204 after at most two small queries
    (an id range and a primary-key lookup). Otherwise out-of-band swaps: new rows on top, changed rows in place,
    and the poller with the new newest id; the scroll position and the filters stay as they are."""
    after = id_param(request.GET, "after") or 0
    watched = _watched(request.GET)
    new_qs = qs.filter(pk__gt=after)
    if text_search:  # the few rows newer than the page: a plain scan of them, as the search's short-query path
        query = text_search.query
        new_qs = new_qs.filter(Q(text__icontains=query) | Q(number__contains=query)
                               | Q(conversation__title__icontains=query))
    # Below the first page ("Older messages" opened as a page of its own) new rows belong to another page.
    fresh = [] if id_param(request.GET, "before") else list(
        new_qs.select_related("conversation", "sender").order_by("-id")[: LIVE_NEW])
    changed = []
    if watched:
        now = dict(access.visible_messages(request.user).filter(pk__in=list(watched)).values_list("id", "status"))
        changed_ids = [pk for pk, status in now.items() if watched[pk] != status]
        if changed_ids:
            changed = list(Message.objects.filter(pk__in=changed_ids).select_related("conversation", "sender"))
    if not fresh and not changed:
        return HttpResponse(status=204)
    rows = access.prepare(fresh + changed, request.user)
    loose = {m.number for m in rows if m.conversation_id is None}
    loose_counts = dict(
        access.visible_messages(request.user).filter(conversation__isnull=True, number__in=loose)
        .values_list("number").annotate(n=Count("id")).order_by()
    ) if loose else {}
    for message in rows:
        message.thread_count = message.conversation.message_count if message.conversation_id else loose_counts.get(
            message.number, 1)
    # The count above the list grows with the new rows: the page's own count plus them (no count query).
    total = int_param(request.GET, "total", minimum=0)
    capped = False
    if total is not None:
        total += len(fresh)
        capped = total > CAPPED_COUNT
        total = min(total, CAPPED_COUNT)
    return render(request, "sms/message_list.html#live", {
        "fresh": fresh, "changed": changed, "after": fresh[0].pk if fresh else after,
        "poll_seconds": POLL_SECONDS, "params": request.GET, "total": total, "capped": capped,
        "filtered": filtered,
    })


@staff_required
def message_list(request):
    """UCP > Pesan: every message, newest first, with keyset pagination (no OFFSET over a million rows)."""
    qs, filtered, text_search = _filtered_messages(clean_data(request.GET))
    # Who may read what (abah.sms.access): every path below (rows, search walk, counts) starts from this qs.
    qs = access.visible_messages(request.user, qs, text_search=text_search is not None)
    if request.htmx and request.GET.get("partial") == "live":
        return _message_list_live(request, qs, text_search, filtered)
    before = id_param(request.GET, "before")
    rows_only = request.htmx and request.GET.get("partial") == "rows"
    searched_to = None  # a search that stopped for time: how far back it looked
    if text_search:
        # The first page counts (up to CAPPED_COUNT) with the same walk that finds its rows.
        ids, resume = text_search.ids(qs, before=before, need=PAGE_SIZE + 1 if rows_only else CAPPED_COUNT + 1)
        rows = list(Message.objects.filter(pk__in=ids[: PAGE_SIZE + 1]).select_related("conversation", "sender")
                    .order_by("-id"))
        total = min(len(ids), CAPPED_COUNT)
        capped = len(ids) > CAPPED_COUNT or bool(resume)
        if resume and len(ids) <= PAGE_SIZE:  # the walk ran out of time before filling the page
            searched_to = (Message.objects.filter(pk__gte=resume).order_by("pk")
                           .values_list("created_at", flat=True).first())
    else:
        resume = 0
        page_qs = qs.filter(pk__lt=before) if before else qs
        rows = list(page_qs.select_related("conversation", "sender").order_by("-id")[: PAGE_SIZE + 1])
        if rows_only:
            total, capped = 0, False  # the rows partial shows no count
        else:
            # Counting every match over a million rows costs a full scan: cap it. The whole list too: it holds only
            # what this user may read (access.visible_messages), which no index counts (600 ms at 1,000,000).
            total = qs.order_by()[: CAPPED_COUNT + 1].count()
            capped = total > CAPPED_COUNT
            total = min(total, CAPPED_COUNT)
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    # Per-thread counts: threads keep counters; unrouted numbers are counted for this page only.
    loose = {m.number for m in rows if m.conversation_id is None}
    loose_counts = dict(
        access.visible_messages(request.user).filter(conversation__isnull=True, number__in=loose)
        .values_list("number").annotate(n=Count("id")).order_by()
    ) if loose else {}
    access.prepare(rows, request.user)
    for message in rows:
        message.thread_count = message.conversation.message_count if message.conversation_id else loose_counts.get(
            message.number, 1)
    context = {
        "rows": rows,
        "total": total,
        "capped": capped,
        "filtered": filtered,
        # The next page starts below the last row, or where a search walk stopped at its budget.
        "next_before": rows[-1].pk if has_more and rows else (resume or None),
        "searched_to": searched_to,
        "scan": "1" if text_search and text_search.by_key else None,
        "directions": Message.Direction.choices,
        "statuses": Message.Status.choices,
        "kinds": Message.Kind.choices,
        "gateways": list(conf.gateways()),
        "params": request.GET,
        # Live: the poller asks for rows newer than the newest one shown (tests/sms/test_live.py).
        "after": 0 if before else rows[0].pk if rows else (
            Message.objects.order_by("-id").values_list("id", flat=True).first() or 0),
        "poll_seconds": POLL_SECONDS,
    }
    template = "sms/message_list.html#rows" if request.htmx and request.GET.get("partial") == "rows" else "sms/message_list.html"
    return render(request, template, context)


# ---------------------------------------------------------------- the Pesan dialog


def _since(request) -> int | None:
    return id_param(request.GET, "since") or id_param(request.POST, "since")


def _thread_context(conversation, *, user, since: int | None = None):
    """The newest THREAD_WINDOW messages of a thread (index sms_msg_thread), shown oldest first.

    ``since``: the oldest message the open dialog already shows; polls and sends re-render from there, so the
    window grows with new messages instead of dropping the ones the user is reading (bounded by THREAD_MAX).
    """
    messages = access.visible_messages(user, conversation.messages.all()).select_related("sender").order_by("-id")
    if since:
        newest = list(messages.filter(pk__gte=since)[: THREAD_MAX + 1])
        more = len(newest) > THREAD_MAX
        newest = newest[:THREAD_MAX]
        older = more or messages.filter(pk__lt=since).exists()
    else:
        newest = list(messages[: THREAD_WINDOW + 1])
        older = len(newest) > THREAD_WINDOW
        newest = newest[:THREAD_WINDOW]
    thread = access.prepare(list(reversed(newest)), user)
    pending = any(m.direction == Message.Direction.OUT and m.is_pending for m in thread)
    since = thread[0].pk if thread else None
    return {"conversation": conversation, "thread": thread, "pending": pending, "has_older": older,
            "since": since or "", "window": THREAD_WINDOW, "poll_seconds": POLL_SECONDS,
            "token": _token([(m.pk, m.status) for m in reversed(thread)])}


def _token(rows) -> str:
    """A short fingerprint of what a live view shows: (id, status) pairs. Any new message, any changed mark (or
    a message becoming visible or hidden) changes it."""
    return hashlib.blake2b(repr(list(rows)).encode(), digest_size=8).hexdigest()


def _thread_token(conversation_id: int, *, user, since: int | None) -> str:
    """The fingerprint of the thread an open dialog shows, in ONE query on the (conversation, id) index: the poll's
    no-change path. The same rows and order as _thread_context, without rendering anything."""
    qs = access.visible_messages(user, Message.objects.filter(conversation_id=conversation_id)).order_by("-id")
    if since:
        rows = qs.filter(pk__gte=since).values_list("id", "status")[:THREAD_MAX]
    else:
        rows = qs.values_list("id", "status")[:THREAD_WINDOW]
    return _token(rows)


@staff_required
def conversation_dialog(request, pk):
    """The Pesan dialog for the shared modal: the thread, oldest to newest, and a compose box."""
    conversation = get_object_or_404(Conversation, pk=pk)
    return render(request, "sms/conversation_dialog.html", _thread_context(conversation, user=request.user))


@staff_required
def conversation_thread(request, pk):
    """The thread alone: the open dialog polls it every POLL_SECONDS with the fingerprint (``v``) of what it shows.

    Unchanged: "204 No Content" after one small query (htmx swaps nothing). Changed (a reply arrived, a text was
    queued elsewhere, a mark changed): the thread again, from the oldest message the dialog shows."""
    shown = text_param(request.GET, "v", max_length=32)
    if shown and shown == _thread_token(pk, user=request.user, since=_since(request)):
        return HttpResponse(status=204)
    conversation = get_object_or_404(Conversation, pk=pk)
    return render(request, "sms/conversation_dialog.html#thread", _thread_context(conversation, user=request.user, since=_since(request)))


@staff_required
def conversation_older(request, pk):
    """The THREAD_WINDOW messages before ``before`` (the "earlier messages" button), oldest first."""
    conversation = get_object_or_404(Conversation, pk=pk)
    before = id_param(request.GET, "before")
    if not before:
        raise Http404
    chunk = list(access.visible_messages(request.user, conversation.messages.all()).select_related("sender")
                 .filter(pk__lt=before).order_by("-id")[: THREAD_WINDOW + 1])
    has_older = len(chunk) > THREAD_WINDOW
    older = access.prepare(list(reversed(chunk[:THREAD_WINDOW])), request.user)
    return render(request, "sms/conversation_dialog.html#older", {
        "conversation": conversation, "older": older, "has_older": has_older,
        "before": older[0].pk if older else "",
    })


@staff_required
@require_POST
def conversation_send(request, pk):
    conversation = get_object_or_404(Conversation, pk=pk)
    form = ConversationSendForm(request.POST)
    since = None
    if form.is_valid():  # everything checked before the message is queued: an error never follows a send
        since = form.cleaned_data["since"]
        try:
            services.send_manual(conversation=conversation, text=form.cleaned_data["text"], sender=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            error = ""
    else:
        error = " ".join(message for errors in form.errors.values() for message in errors)
    context = {**_thread_context(conversation, user=request.user, since=since), "error": error, "sent": not error}
    response = render(request, "sms/conversation_dialog.html#send_response", context)
    if not error:
        response["HX-Trigger"] = "sms-sent"
    return response


# ---------------------------------------------------------------- unknown senders (Admin)


@admin_required
def unknown_senders(request):
    """Inbound numbers no thread claims, newest first, with a search to attach each to a party."""
    numbers = list(
        access.visible_messages(request.user).filter(conversation__isnull=True, direction=Message.Direction.IN)
        .values("number")
        .annotate(count=Count("id"), last_id=Max("id"))
        .order_by("-last_id")[:100]
    )
    last = Message.objects.in_bulk([row["last_id"] for row in numbers])
    access.prepare(last.values(), request.user)
    for row in numbers:
        row["last"] = last.get(row["last_id"])
    return render(request, "sms/unknown_senders.html", {"numbers": numbers})


@admin_required
def party_search(request):
    number = param(request.GET, "number")
    parties = routing.search_parties(text_param(request.GET, "q"))
    return render(request, "sms/unknown_senders.html#parties", {"parties": parties, "number": number,
                                                               "q": text_param(request.GET, "q")})


@admin_required
@require_POST
def unknown_attach(request):
    # Only a registered party type, and a party that exists: its title and number come from its app.
    party = routing.lookup_party(param(request.POST, "party_type"), param(request.POST, "party_id"))
    number = param(request.POST, "number")
    if party is None:
        flash.error(request, _("Choose a party to attach the number to."))
        return redirect("sms:unknown_senders")
    try:
        conversation = services.attach_number(number=number, party=party)
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, _("%(number)s is now attached to %(title)s.") % {"number": number,
                                                                                  "title": conversation.title})
    return redirect("sms:unknown_senders")


# ---------------------------------------------------------------- Telepon Virtual (simulator only)

PHONES_PER_PAGE = 25


def _require_simulator(request):
    """None while the simulator is a gateway, else the page that says why there are no virtual phones."""
    if conf.simulator_active():
        return None
    from .backends.health import backend_label

    configured = conf.gateways()
    used = ", ".join(backend_label(cfg["BACKEND"]) if name == "default" else f"{name}: {backend_label(cfg['BACKEND'])}"
                     for name, cfg in configured.items())
    return render(request, "sms/simulator_unavailable.html", {"gateways": used})


def _own_number(user) -> str:
    return getattr(user, "phone", "") or ""


def _phone_scope(user) -> Q | None:
    """The virtual phones ``user`` may open: None for the Admin (every phone, as the phones themselves); for a
    Petugas the numbers that received the office's shared work (institution threads, broadcasts: access.py's
    shared messages) and his own numbers (his phone, and a new number he is verifying: what was addressed to
    him). Another staff member's phone, where only his codes and notifications arrive, stays closed."""
    if is_admin(user):
        return None
    from django.db.models import Exists, OuterRef

    shared = Message.objects.filter(number=OuterRef("number"), addressee__isnull=True).exclude(
        kind__in=access.PRIVATE_KINDS)
    scope = Q(Exists(shared)) | Q(Exists(Message.objects.filter(number=OuterRef("number"), addressee_id=user.pk)))
    own = _own_number(user)
    if own:
        scope |= Q(number=own)
    return scope


def _may_open(user, number: str) -> bool:
    """The same rule as ``_phone_scope``, for one number (the selected phone, a reply)."""
    if is_admin(user) or (number and number == _own_number(user)):
        return True
    mine = Q(addressee__isnull=True) & ~Q(kind__in=access.PRIVATE_KINDS) | Q(addressee_id=user.pk)
    return Message.objects.filter(mine, number=number).exists()


def _phone_reads(message, user) -> bool:
    """What the phone received, as ``user`` may read it here: the Admin everything (as the phone itself); a
    Petugas the shared messages and what was addressed to him (his own phone: his codes too); another staff
    member's code or notification copy stays "(private message)"."""
    if is_admin(user):
        return True
    if message is None:  # the message is gone (retention): its kind and addressee are unknown
        return False
    if message.addressee_id is not None:
        return message.addressee_id == user.pk
    return message.kind not in access.PRIVATE_KINDS


def _phone_search(query: str) -> Q | None:
    """A search by number (complete or a piece of it, 08… or +62…) or by institution name (the registered
    party search: the grants app's institutions and contacts, without sms knowing them)."""
    if not query:
        return None
    compact = query.replace(" ", "").replace("-", "").replace(".", "")
    if compact.lstrip("+").isdigit():
        digits = compact.lstrip("+")
        if digits.startswith("0"):
            digits = "62" + digits[1:]
        return Q(number__contains=digits)
    numbers = set()
    for party in routing.search_parties(query, limit=100):
        try:
            numbers.add(phone.parse_mobile(party.number))
        except ValidationError:
            continue
    return Q(number__in=sorted(numbers))


def _phone_owners(numbers, user) -> dict[str, str]:
    """A label for each number: the thread it belongs to (an institution), "your number", or for the Admin
    the staff member whose number it is."""
    from django.contrib.auth import get_user_model

    owners = {}
    for number, title in (Conversation.objects.filter(number__in=numbers).exclude(title="")
                          .order_by("-last_message_at", "-id").values_list("number", "title")):
        owners.setdefault(number, title)
    if is_admin(user):
        for number, username in get_user_model().objects.filter(phone__in=numbers).values_list("phone", "username"):
            owners.setdefault(number, _("staff: %(name)s") % {"name": username})
    own = _own_number(user)
    if own in numbers:
        owners[own] = _("your number")
    return owners


@staff_required
def simulator_phones(request):
    """The numbers the simulated SMSC delivered to, what each received, and a box to reply as that number.

    Every staff member may use it in demo mode (the simulator is the gateway); a Petugas sees the phones of
    institutions and his own (``_phone_scope``), and on them only what he may read (``_phone_reads``)."""
    from django.core.paginator import Paginator

    unavailable = _require_simulator(request)
    if unavailable is not None:
        return unavailable
    user = request.user
    query = text_param(request.GET, "q", max_length=100)
    deliveries = SimulatorDelivery.objects.all()
    scope = _phone_scope(user)
    if scope is not None:
        deliveries = deliveries.filter(scope)
    found = _phone_search(query)
    if found is not None:
        deliveries = deliveries.filter(found)
    grouped = (deliveries.values("number").annotate(count=Count("client_ref", distinct=True),
                                                    last=Max("accepted_at")).order_by("-last", "number"))
    page = Paginator(grouped, PHONES_PER_PAGE).get_page(request.GET.get("page"))
    phones = list(page.object_list)
    owners = _phone_owners([p["number"] for p in phones], user)
    for p in phones:
        p["owner"] = owners.get(p["number"], "")
    selected = param(request.GET, "number") or (phones[0]["number"] if phones else "")
    received = []
    if selected and not _may_open(user, selected):
        flash.error(request, _("This virtual phone is another staff member's; only an Admin may open it."))
        selected = ""
    if selected:
        parts = list(
            SimulatorDelivery.objects.filter(number=selected).order_by("-id")
            .values("client_ref", "seq", "text", "accepted_at", "delivered", "error_reason")[:600]
        )
        ids = {int(part["client_ref"]) for part in parts if part["client_ref"].isdigit()}
        messages_by_ref = {str(m.pk): m for m in Message.objects.filter(pk__in=ids).only("id", "addressee_id", "kind")}
        by_ref: dict[str, dict] = {}
        for part in reversed(parts):
            item = by_ref.setdefault(part["client_ref"], {"parts": {}, "at": part["accepted_at"],
                                                          "delivered": part["delivered"],
                                                          "reason": part["error_reason"],
                                                          "readable": _phone_reads(
                                                              messages_by_ref.get(part["client_ref"]), user)})
            item["parts"][part["seq"]] = part["text"]
        for item in by_ref.values():
            item["text"] = ("".join(item["parts"][seq] for seq in sorted(item["parts"])) if item["readable"]
                            else _("(private message)"))
            item["direction"] = "in"
            received.append(item)
        for reply in SimulatorInbound.objects.filter(number=selected).order_by("-id")[:200]:
            received.append({"text": reply.text, "at": reply.created_at, "direction": "out",
                             "picked_up": reply.picked_up, "readable": True})
        received.sort(key=lambda item: item["at"])
    return render(request, "sms/simulator_phones.html", {
        "phones": phones, "page": page, "query": query, "selected": selected, "received": received,
        "user_is_admin": is_admin(user),
        "selected_owner": _phone_owners([selected], user).get(selected, "") if selected else ""})


@staff_required
@require_POST
def simulator_reply(request):
    unavailable = _require_simulator(request)
    if unavailable is not None:
        return unavailable
    from .backends.simulator import phone_reply

    number = param(request.POST, "number")
    text = param(request.POST, "text").strip()
    try:
        e164 = phone.parse_mobile(number)
        if not text:
            raise ValidationError(_("The message text is empty."))
        if not _may_open(request.user, e164):
            raise ValidationError(_("This virtual phone is another staff member's; only an Admin may open it."))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        phone_reply(number=e164, text=text)
        flash.success(request, _("Reply sent from %(number)s; it arrives like a real SMS.") % {"number": e164})
    return redirect(f"{reverse('sms:simulator_phones')}?{urlencode({'number': number})}")


# ---------------------------------------------------------------- SMS Center status (Admin)


def _status_context(user=None):
    now = timezone.now()
    today = datetime.combine(timezone.localtime(now, WIB).date(), time.min, tzinfo=WIB)
    today_qs = Message.objects.filter(created_at__gte=today, direction=Message.Direction.OUT)
    counts = today_qs.aggregate(
        queued=Count("id"),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        delivered=Count("id", filter=Q(status=Message.Status.DELIVERED)),
        failed=Count("id", filter=Q(status=Message.Status.FAILED)),
    )
    received_today = Message.objects.filter(created_at__gte=today, direction=Message.Direction.IN).count()
    depth = list(
        Message.objects.filter(status=Message.Status.QUEUED).values("priority").annotate(n=Count("id"))
        .order_by("-priority")
    )
    due = Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now).count()
    sending = Message.objects.filter(status=Message.Status.SENDING).count()
    hours = {h: {"sent": 0, "delivered": 0, "failed": 0} for h in range(24)}
    for row in today_qs.filter(sent_at__isnull=False).values_list("sent_at", "status"):
        bucket = hours[timezone.localtime(row[0], WIB).hour]
        bucket["sent"] += 1
        if row[1] == Message.Status.DELIVERED:
            bucket["delivered"] += 1
        elif row[1] == Message.Status.FAILED:
            bucket["failed"] += 1
    minute_ago = now - timedelta(seconds=60)
    throughput = Message.objects.filter(sent_at__gte=minute_ago).count() / 60
    workers = list(WorkerHeartbeat.objects.filter(seen_at__gte=now - timedelta(days=1)).order_by("-seen_at"))
    fresh_since = now - timedelta(seconds=conf.HEALTH_STALE_SECONDS)
    for worker in workers:  # a heartbeat gone stale is a worker that stopped (killed, machine down), not a live one
        worker.alive = worker.state == "running" and worker.seen_at >= fresh_since
    from .models import ServiceProcess

    processes = list(ServiceProcess.objects.order_by("hostname", "name"))  # what manage.py serve supervises
    for process in processes:
        process.error_summary = process.last_error.strip().splitlines()[0] if process.last_error.strip() else ""
    # Existence only: an Admin sees that a message failed; one he may not read is masked (abah.sms.access).
    errors = access.prepare(list(
        access.visible_messages(user, existence=True).filter(status=Message.Status.FAILED)
        .select_related("conversation").order_by("-id")[:10]
    ), user)
    gateway = conf.gateway_config()
    from .window import window_state

    window = window_state(now)  # the send window: open, or closed with the texts it holds and when it opens
    held = 0
    if not window["open"]:
        held = (Message.objects.filter(status=Message.Status.QUEUED)
                .exclude(kind__in=window["window"].exempt_kinds).count())
    return {
        "window": window, "held": held,
        "index_pending": search.pending(),  # new messages the worker has not moved into the search index yet
        "counts": counts, "received_today": received_today, "depth": depth, "due": due, "sending": sending,
        "chart": {
            "labels": [f"{h:02d}" for h in range(24)],
            "sent": [hours[h]["sent"] for h in range(24)],
            "delivered": [hours[h]["delivered"] for h in range(24)],
            "failed": [hours[h]["failed"] for h in range(24)],
        },
        "throughput": throughput, "workers": workers, "alive": any(w.alive for w in workers), "errors": errors,
        "processes": processes,
        "gateway_backend": gateway["BACKEND"].rsplit(".", 1)[-1], "now": now,
    }


@admin_required
def status(request):
    from .backends import health

    template = "sms/status.html#live" if request.htmx else "sms/status.html"
    context = _status_context(request.user)
    context["gateways"] = health.overview()
    context["gateways_up"] = sum(1 for gateway in context["gateways"] if gateway.up)
    return render(request, template, context)
