"""SPJ/LPJ billing: reminders before each grant's LPJ due date, then weekly once it is overdue.

Schedule (DOMAIN.md §2, T4/T5): ``settings.ABAH_LPJ_REMINDER_DAYS`` days before the due date (default
H-30, H-7, H-1, template "lpj_billing"), then every ``settings.ABAH_LPJ_OVERDUE_EVERY_DAYS`` days from the
day after it (default weekly, template "lpj_overdue") until the LPJ is recorded as received.

A run sends, for every grant that owes its LPJ, the latest step whose day has come (a grant that starts
owing it at H-3 gets the H-7 text once, then H-1). Each message's idempotency key is
``lpj:<grant>:<due date>:<step>``: the unique index on it makes a step go out once, whatever the number of
runs or workers; a new due date starts a new schedule. Nothing is sent for a grant whose LPJ is received,
which is archived or closed, or whose reminders the petugas paused. Messages are queued with kind
"billing"; the SMS worker sends them inside the send window.

A reminder is recorded as its message (kind "billing"; meta: grant, step, due date, template version): the
grant page lists each step with the time it was queued and its delivery status, the institution's Pesan
thread shows the text, and the petugas gets one notification per run. The grant's Log keeps what people
did (pausing and resuming the reminders among it), not a copy of every automatic message.
"""

import dataclasses
import datetime
import logging
import uuid
from collections import Counter, defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from abah.grants.models import Grant
from abah.sms import services as sms_services
from abah.sms.models import Message

from . import bulk
from .models import TemplateKind
from .templating import MissingValues, current_version, grant_context, substitute

log = logging.getLogger(__name__)

S = Grant.Status
# The grant has received money and owes its LPJ (LPJ_DITERIMA and later, archived, rejected: nothing).
BILLABLE_STATUSES = (
    S.PENCAIRAN_TAHAP_1_SELESAI, S.PENCAIRAN_TAHAP_2_PROSES, S.PENCAIRAN_TAHAP_2_SELESAI,
    S.LPJ_MENUNGGU, S.LPJ_TERLAMBAT,
)
DEFAULT_DAYS = (30, 7, 1)
DEFAULT_OVERDUE_EVERY = 7
SHOWN_OVERDUE = 6  # sent overdue reminders listed on the grant page


def reminder_days() -> tuple[int, ...]:
    days = getattr(settings, "ABAH_LPJ_REMINDER_DAYS", DEFAULT_DAYS)
    return tuple(sorted({int(d) for d in days if int(d) > 0}, reverse=True))


def overdue_every() -> int:
    return max(1, int(getattr(settings, "ABAH_LPJ_OVERDUE_EVERY_DAYS", DEFAULT_OVERDUE_EVERY)))


@dataclasses.dataclass(frozen=True)
class Step:
    key: str  # "h30", "h7", "h1", "late1", "late2", …
    date: datetime.date  # the day it is due to go out
    overdue: bool

    @property
    def template_kind(self) -> str:
        return TemplateKind.LPJ_OVERDUE if self.overdue else TemplateKind.LPJ_BILLING

    @property
    def label(self) -> str:
        if self.overdue:
            return _("Overdue %(n)s") % {"n": self.key.removeprefix("late")}
        return f"H-{self.key.removeprefix('h')}"


def idempotency_key(grant_id: int, due: datetime.date, step: Step) -> str:
    return f"lpj:{grant_id}:{due.isoformat()}:{step.key}"


def _shift(day: datetime.date, days: int) -> datetime.date | None:
    """``day`` moved by ``days``, or None beyond the calendar (a due date stored as 0001-01-01 or 9999-12-31
    before forms refused them must not turn the grant page into an error: its steps past year 9999 do not exist)."""
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return None


def current_step(due: datetime.date, today: datetime.date, days=None, every=None) -> Step | None:
    """The latest step whose day has come (None before the first one)."""
    every = every or overdue_every()
    if today > due:
        n = ((today - due).days - 1) // every + 1
        day = _shift(due, 1 + (n - 1) * every)
        return Step(f"late{n}", day, True) if day is not None else None
    for d in sorted(days or reminder_days()):  # 1, 7, 30: the nearest step first
        day = _shift(due, -d)
        if day is not None and today >= day:
            return Step(f"h{d}", day, False)
    return None


def schedule(due: datetime.date, today: datetime.date, days=None, every=None) -> list[Step]:
    """Every step of a due date up to the next one still to come (for the grant page)."""
    every = every or overdue_every()
    steps = [Step(f"h{d}", day, False) for d in (days or reminder_days()) if (day := _shift(due, -d)) is not None]
    for n in range(1, 521):  # at most ten years of weekly reminders
        day = _shift(due, 1 + (n - 1) * every)
        if day is None:  # past the calendar's end: no later step exists
            break
        steps.append(Step(f"late{n}", day, True))
        if day > today:
            break
    return steps


def owes_lpj(grant: Grant) -> bool:
    return bool(grant.lpj_due_date and grant.lpj_received_on is None and grant.status in BILLABLE_STATUSES)


@dataclasses.dataclass
class RunResult:
    checked: int = 0  # grants owing their LPJ with a step due
    queued: int = 0  # messages queued by this run
    already: int = 0  # steps sent before (or by another worker)
    skipped: int = 0  # no valid contact, or a template value missing
    by_petugas: dict = dataclasses.field(default_factory=lambda: defaultdict(list))


def _billable(today: datetime.date):
    """The grants that owe their LPJ and may have a reminder due by today (not paused)."""
    days = reminder_days()
    horizon = today + datetime.timedelta(days=max(days) if days else 0)
    return Grant.objects.filter(status__in=BILLABLE_STATUSES, lpj_received_on__isnull=True,
                                lpj_due_date__isnull=False, lpj_due_date__lte=horizon,
                                lpj_reminder_pause__isnull=True)


def due_reminders(today: datetime.date) -> list[tuple[int, datetime.date, Step, str]]:
    """(grant id, due date, step, key) for every grant owing its LPJ whose current step is not sent yet."""
    days = reminder_days()
    every = overdue_every()
    rows = _billable(today).order_by().values_list("pk", "lpj_due_date")
    candidates = []
    for pk, due in rows.iterator(chunk_size=5000):
        step = current_step(due, today, days, every)
        if step is not None:
            candidates.append((pk, due, step, idempotency_key(pk, due, step)))
    return candidates


def run(*, today: datetime.date | None = None, chunk_size: int = 2000) -> RunResult:
    """Queue every reminder that is due today (idempotent). Returns what it did."""
    today = today or timezone.localdate()
    result = RunResult()
    candidates = due_reminders(today)
    result.checked = len(candidates)
    sent = set(sms_services.existing_keys([c[3] for c in candidates]))
    todo = {pk: (due, step, key) for pk, due, step, key in candidates if key not in sent}
    result.already = len(candidates) - len(todo)
    if not todo:
        return result
    versions = {kind: current_version(kind) for kind in (TemplateKind.LPJ_BILLING, TemplateKind.LPJ_OVERDUE)}
    # One read of every billable grant with what its text needs; a handful of ids is read by id.
    grants = _billable(today).filter(pk__in=list(todo)) if len(todo) <= bulk.CHUNK else _billable(today)
    rows = [g for g in bulk.load_grants(grants) if g.pk in todo]
    for chunk in bulk.chunks(rows, chunk_size):
        _queue_chunk(chunk, todo, versions, result)
    _notify_petugas(result)
    return result


@dataclasses.dataclass
class _Prepared:
    run_id: str
    owners: list  # (GrantRow, Step) of each message
    messages: list  # unsaved, from sms.services.build_messages
    skipped: int


def _prepare_chunk(grants: list[bulk.GrantRow], todo: dict, versions) -> _Prepared:
    """Render and check the chunk's texts (no database)."""
    run_id = uuid.uuid4().hex[:12]
    items, owners, skipped = [], [], 0
    for grant in grants:
        due, step, key = todo[grant.pk]
        if grant.lpj_due_date != due:  # the due date moved since the scan: the next run has the new schedule
            continue
        number = bulk.valid_number(grant)
        if not number:
            skipped += 1
            continue
        version = versions[step.template_kind]
        try:
            # substitute, not render_version: build_messages counts the segments anyway.
            text = substitute(version.text, grant_context(grant), kind=step.template_kind, legacy=version.legacy_money)
        except (MissingValues, ValidationError) as error:
            log.info("LPJ reminder for %s skipped: %s", grant.kode, error)
            skipped += 1
            continue
        items.append({
            "to": number, "text": text, "kind": Message.Kind.BILLING, "idempotency_key": key,
            "meta": {"template_kind": step.template_kind, "template_version": version.pk,
                     "template_number": version.number, "grant": grant.pk, "lpj_step": step.key,
                     "lpj_due": due.isoformat(), "run": run_id},
        })
        owners.append((grant, step))
    return _Prepared(run_id, owners, sms_services.build_messages(items), skipped)


def _write_chunk(prepared: _Prepared, result: RunResult) -> None:
    """Threads, messages and the grants' Log of one prepared chunk, in one transaction."""
    result.skipped += prepared.skipped
    owners = prepared.owners
    if not owners:
        return
    with transaction.atomic():
        threads, precounted = bulk.institution_threads([g for g, _s in owners],
                                                       counts=Counter(g.institution_id for g, _s in owners))
        for message, (grant, _step) in zip(prepared.messages, owners, strict=True):
            message.conversation_id = threads[grant.institution_id]
        # The keys were looked up by run(): new ones go straight in (one a concurrent worker took meanwhile is
        # still caught by the unique index, in queue_built's conflict path).
        messages = sms_services.queue_built(prepared.messages, precounted=precounted)
        mine = [grant for message, (grant, _step) in zip(messages, owners, strict=True)
                if message.meta.get("run") == prepared.run_id]  # another worker may have queued some first
        result.queued += len(mine)
        result.already += len(owners) - len(mine)
        for grant in mine:
            if grant.petugas_id:
                result.by_petugas[grant.petugas_id].append(grant.kode)


def _queue_chunk(grants: list[bulk.GrantRow], todo: dict, versions, result: RunResult) -> None:
    """Render, check and write one chunk."""
    _write_chunk(_prepare_chunk(grants, todo, versions), result)


def _notify_petugas(result: RunResult) -> None:
    if not result.by_petugas:
        return
    from django.contrib.auth import get_user_model

    from abah.notifications.services import notify

    users = get_user_model().objects.in_bulk(list(result.by_petugas))
    for pk, kodes in result.by_petugas.items():
        user = users.get(pk)
        if user is None or not user.is_active:
            continue
        shown = ", ".join(kodes[:5]) + (" …" if len(kodes) > 5 else "")
        with override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            text = _("LPJ reminders queued for %(n)d grant(s): %(kodes)s.") % {"n": len(kodes), "kodes": shown}
        notify(user=user, kind="billing_sent", text=text)


# ---------------------------------------------------------------- the grant page


@dataclasses.dataclass
class ScheduleRow:
    step: Step
    message: Message | None
    state: str  # "sent", "upcoming", "due" (goes out on the next run), "missed" (never sent, step passed)


def grant_schedule(grant: Grant, today: datetime.date | None = None) -> list[ScheduleRow]:
    """The grant's reminders: sent ones with their message, the ones still to come."""
    if not grant.lpj_due_date:
        return []
    today = today or timezone.localdate()
    due = grant.lpj_due_date
    steps = schedule(due, today)
    keys = {idempotency_key(grant.pk, due, s): s for s in steps}
    messages = {m.idempotency_key: m for m in Message.objects.filter(idempotency_key__in=list(keys))}
    current = current_step(due, today)
    rows = []
    for key, step in keys.items():
        message = messages.get(key)
        if message is not None:
            state = "sent"
        elif step.date > today:
            state = "upcoming"
        elif current is not None and step.key == current.key:
            state = "due"
        else:
            state = "missed"
        rows.append(ScheduleRow(step, message, state))
    # Years overdue make hundreds of weekly steps: keep the ones sent (the latest few), due or upcoming.
    overdue = [r for r in rows if r.step.overdue]
    shown = [r for r in overdue if r.state != "missed"]
    sent = [r for r in shown if r.state == "sent"]
    shown = [r for r in shown if r.state != "sent" or r in sent[-SHOWN_OVERDUE:]]
    return [r for r in rows if not r.step.overdue] + shown


def hidden_overdue(rows: list[ScheduleRow], grant: Grant, today: datetime.date | None = None) -> int:
    """How many overdue steps grant_schedule left out (not sent, or sent before the latest few)."""
    if not grant.lpj_due_date:
        return 0
    today = today or timezone.localdate()
    total = sum(1 for s in schedule(grant.lpj_due_date, today) if s.overdue)
    return total - sum(1 for r in rows if r.step.overdue)


@transaction.atomic
def pause_set(*, grant: Grant, paused: bool, by=None) -> bool:
    """Pause or resume the LPJ reminders of a grant; returns the new state."""
    from abah.grants import services as grant_services

    from .models import ReminderPause

    if paused:
        _pause, created = ReminderPause.objects.get_or_create(grant=grant, defaults={"paused_by": by})
        if created:
            grant_services.log(action="lpj_reminders", user=by, grant=grant, message=_("LPJ reminders paused."))
    else:
        deleted, _rows = ReminderPause.objects.filter(grant=grant).delete()
        if deleted:
            grant_services.log(action="lpj_reminders", user=by, grant=grant, message=_("LPJ reminders resumed."))
    return paused
