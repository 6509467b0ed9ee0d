"""Incidental broadcasts: pick institutions by filters, preview, queue in the background, cancel.

Recipients are the institutions of the grants a filter selects (one message per institution; the
placeholders of its latest matching grant fill the text). Archived grants count only when the filter asks
for the status "Archived". A Petugas reaches only the institutions of their own grants. Messages are
queued with kind "broadcast" (the lowest priority; the SMS worker sends them inside the send window), in
the institution's Pesan thread, with the idempotency key ``broadcast:<id>:<institution>`` so a retried
task queues nothing twice.
"""

import dataclasses
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from abah.core.access import is_admin
from abah.grants.models import Contact, Grant
from abah.sms import encoding
from abah.sms import services as sms_services
from abah.sms.dbutil import insert_rows
from abah.sms.models import Message

from . import bulk
from .models import Broadcast, BroadcastRecipient, SmsTemplateVersion, TemplateKind
from .templating import MissingValues, grant_context, substitute, validate_text, warnings_for

log = logging.getLogger(__name__)

FILTER_KEYS = ("fiscal_year", "status", "jenis", "regency", "petugas", "contact")
# Templates a broadcast may start from: their placeholders are all available to a broadcast.
PICKABLE = (TemplateKind.INCIDENTAL, TemplateKind.LPJ_BILLING, TemplateKind.LPJ_OVERDUE)
SAMPLES = 3
LISTED = 200  # institutions without a contact listed by name in the preview


def clean_filters(filters: dict, *, user) -> dict:
    """Only known, non-empty filters; a Petugas is always limited to their own grants."""
    cleaned = {k: filters[k] for k in FILTER_KEYS if filters.get(k) not in (None, "", [])}
    if not is_admin(user):
        cleaned["petugas"] = user.pk
    return cleaned


def recipients(filters: dict):
    """The grants a broadcast texts: one per institution (its latest matching grant), as a queryset."""
    grants = Grant.objects.all()
    if filters.get("fiscal_year"):
        grants = grants.filter(fiscal_year=int(filters["fiscal_year"]))
    if filters.get("status"):
        grants = grants.filter(status=filters["status"])
    else:
        grants = grants.exclude(status=Grant.Status.ARSIP)
    if filters.get("jenis"):
        grants = grants.filter(jenis=filters["jenis"])
    if filters.get("regency"):
        grants = grants.filter(institution__regency=filters["regency"])
    if filters.get("petugas"):
        grants = grants.filter(petugas_id=int(filters["petugas"]))
    if filters.get("contact") in ("with", "without"):
        has = Exists(Contact.objects.filter(institution_id=OuterRef("institution_id"), is_current=True))
        grants = grants.filter(has) if filters["contact"] == "with" else grants.exclude(has)
    latest = grants.order_by().values("institution_id").annotate(latest=Max("pk")).values("latest")
    return Grant.objects.filter(pk__in=latest)


def recipient_grants(filters: dict) -> list[int]:
    """Grant ids, one per institution (its latest matching grant), in institution order."""
    return list(recipients(filters).order_by("institution_id").values_list("pk", flat=True))


def check_text(text: str, isi: str) -> str:
    """The normalised draft text, or a translated ValidationError (unknown placeholders, empty body …)."""
    text = " ".join((text or "").split())
    names = validate_text(TemplateKind.INCIDENTAL, text)
    if "isi" in names and not (isi or "").strip():
        raise ValidationError(_("Write the message body ({isi})."), code="isi")
    return text


def render_for(grant: Grant, text: str, isi: str, legacy: bool | None) -> str:
    context = grant_context(grant)
    context["isi"] = " ".join((isi or "").split())
    return substitute(text, context, kind=TemplateKind.INCIDENTAL, legacy=legacy)


@dataclasses.dataclass
class Preview:
    total: int = 0  # institutions selected
    sendable: int = 0
    segments: int = 0  # SMS segments of every sendable message together
    unreachable: list = dataclasses.field(default_factory=list)  # (institution, reason), at most LISTED
    unreachable_count: int = 0
    samples: list = dataclasses.field(default_factory=list)  # (institution, text, analysis)
    warnings: list = dataclasses.field(default_factory=list)
    max_segments: int = 0


def preview(*, filters: dict, text: str, isi: str = "", legacy: bool | None = None) -> Preview:
    """What a broadcast would send: counts, the institutions it cannot reach, samples, the segment cost."""
    text = check_text(text, isi)
    result = Preview()
    grants = bulk.load_grants(recipients(filters))
    result.total = len(grants)
    warnings = {}
    for grant in sorted(grants, key=lambda g: g.institution_id):
        reason = ""
        if not bulk.valid_number(grant):
            reason = _("no valid mobile number")
        else:
            try:
                rendered = render_for(grant, text, isi, legacy)
            except MissingValues as error:
                reason = _("missing %(names)s") % {"names": ", ".join("{" + n + "}" for n in error.names)}
        if reason:
            result.unreachable_count += 1
            if len(result.unreachable) < LISTED:
                result.unreachable.append((grant.institution, reason))
            continue
        analysis = encoding.analyze(rendered)
        result.sendable += 1
        result.segments += analysis.segments
        result.max_segments = max(result.max_segments, analysis.segments)
        if len(result.samples) < SAMPLES:
            result.samples.append((grant.institution, rendered, analysis))
        for warning in warnings_for(analysis, rendered):
            warnings.setdefault(warning.split(":")[0], warning)
    result.warnings = list(warnings.values())
    return result


def template_choices() -> list[SmsTemplateVersion]:
    return list(SmsTemplateVersion.objects.filter(template__kind__in=PICKABLE, template__current=F("pk"))
                .select_related("template").order_by("template__kind"))


@transaction.atomic
def broadcast_create(*, by, filters: dict, text: str, isi: str = "", legacy_money: bool | None = None) -> Broadcast:
    """Confirm a broadcast: it is queued in the background once this transaction commits."""
    from .tasks import run_broadcast

    text = check_text(text, isi)
    filters = clean_filters(filters, user=by)
    version = next((v for v in template_choices() if v.text == text), None)
    broadcast = Broadcast.objects.create(
        created_by=by, filters=filters, text=text, isi=" ".join((isi or "").split()), template_version=version,
        legacy_money=version.legacy_money if version and legacy_money is None else legacy_money,
        total=recipients(filters).count(),
    )
    if broadcast.total == 0:
        raise ValidationError(_("No institution matches these filters."), code="empty")
    transaction.on_commit(lambda: run_broadcast.enqueue(broadcast.pk))
    return broadcast


def broadcast_run(*, broadcast_id: int, chunk_size: int = 2000) -> str:
    """The background part: queue every message, chunk by chunk, unless the broadcast is cancelled."""
    claimed = Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.PENDING).update(
        status=Broadcast.Status.QUEUING, started_at=timezone.now())
    if not claimed:
        return "not pending"
    broadcast = Broadcast.objects.select_related("created_by", "template_version").get(pk=broadcast_id)
    try:
        # Every recipient with what its text needs, in one read; then queued chunk by chunk.
        grants = sorted(bulk.load_grants(recipients(broadcast.filters)), key=lambda g: g.institution_id)
        Broadcast.objects.filter(pk=broadcast.pk).update(total=len(grants))
        for chunk in bulk.chunks(grants, chunk_size):
            if not _write_unless_cancelled(broadcast, _prepare_chunk(broadcast, chunk)):
                break
    except Exception as error:
        log.exception("broadcast %s failed", broadcast_id)
        Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.QUEUING).update(
            status=Broadcast.Status.FAILED, error=str(error)[:255], finished_at=timezone.now())
        raise
    done = Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.QUEUING).update(
        status=Broadcast.Status.QUEUED, finished_at=timezone.now())
    broadcast.refresh_from_db()
    if done and broadcast.created_by is not None:
        _notify(broadcast)
    return broadcast.status


def _cancelled(broadcast: Broadcast) -> bool:
    return Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.CANCELLED).exists()


@dataclasses.dataclass
class _Prepared:
    grants: list  # every grant of the chunk
    owners: list  # the grant of each message
    messages: list  # unsaved, from sms.services.build_messages
    unreachable: list  # grants without a valid contact (or a value the text needs)


def _prepare_chunk(broadcast: Broadcast, grants: list[bulk.GrantRow]) -> _Prepared:
    """Render and check the chunk's texts (no database)."""
    items, owners, unreachable = [], [], []
    meta = {"template_kind": TemplateKind.INCIDENTAL, "broadcast": broadcast.pk,
            "template_version": broadcast.template_version_id,
            "template_number": broadcast.template_version.number if broadcast.template_version else None}
    for grant in grants:
        number = bulk.valid_number(grant)
        try:
            text = render_for(grant, broadcast.text, broadcast.isi, broadcast.legacy_money) if number else ""
        except MissingValues:
            text = ""
        if not text:
            unreachable.append(grant)
            continue
        items.append({"to": number, "text": text, "kind": Message.Kind.BROADCAST, "sender": broadcast.created_by,
                      "idempotency_key": f"broadcast:{broadcast.pk}:{grant.institution_id}", "meta": meta})
        owners.append(grant)
    return _Prepared(grants, owners, sms_services.build_messages(items), unreachable)


def _write_unless_cancelled(broadcast: Broadcast, prepared: _Prepared) -> bool:
    """Write a prepared chunk; False once the broadcast is cancelled (a chunk written meanwhile is withdrawn)."""
    if _cancelled(broadcast):
        return False
    ids = _write_chunk(broadcast, prepared)
    if _cancelled(broadcast):  # cancelled while this chunk was being written: withdraw it too
        withdrawn = sms_services.cancel_messages(ids=ids)
        Broadcast.objects.filter(pk=broadcast.pk).update(withdrawn=F("withdrawn") + withdrawn)
        return False
    return True


def _write_chunk(broadcast: Broadcast, prepared: _Prepared) -> list[int]:
    """Threads, messages and recipients of one prepared chunk, in one transaction; returns the message ids."""
    owners, unreachable = prepared.owners, prepared.unreachable
    with transaction.atomic():
        messages = []
        if owners:
            threads, precounted = bulk.institution_threads(owners, counts={g.institution_id: 1 for g in owners})
            for message, grant in zip(prepared.messages, owners, strict=True):
                message.conversation_id = threads[grant.institution_id]
            # Keys are new (a broadcast runs once: broadcast_run claims it); should one exist all the same,
            # queue_built's conflict path returns that message instead.
            messages = sms_services.queue_built(prepared.messages, precounted=precounted)
        done = set(BroadcastRecipient.objects.filter(broadcast=broadcast, institution_id__any=[
            g.institution_id for g in prepared.grants]).values_list("institution_id", flat=True))  # a retried chunk
        rows = [(broadcast.pk, g.institution_id, g.pk, m.pk) for g, m in zip(owners, messages, strict=True)]
        rows += [(broadcast.pk, g.institution_id, g.pk, None) for g in unreachable]
        insert_rows(BroadcastRecipient, ["broadcast", "institution", "grant", "message"],
                    [row for row in rows if row[1] not in done])
        Broadcast.objects.filter(pk=broadcast.pk).update(queued=F("queued") + len(messages),
                                                         skipped=F("skipped") + len(unreachable))
    return [m.pk for m in messages]


def _notify(broadcast: Broadcast) -> None:
    from abah.notifications.services import notify

    user = broadcast.created_by
    with override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
        text = _("Broadcast #%(pk)d: %(queued)d message(s) queued, %(skipped)d institution(s) without a "
                 "valid contact.") % {"pk": broadcast.pk, "queued": broadcast.queued, "skipped": broadcast.skipped}
        from abah.sms.window import held_sentence

        held = held_sentence(Message.Kind.BROADCAST) if broadcast.queued else ""
        text = f"{text} {held}" if held else text  # queued at night: say when they go
    notify(user=user, kind="broadcast_sent", text=text, target=broadcast, actor=user)


@transaction.atomic
def broadcast_cancel(*, broadcast: Broadcast, by) -> int:
    """Stop a broadcast: what is still queued is withdrawn; sent messages stay sent. Returns the count."""
    locked = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if locked.status in (Broadcast.Status.CANCELLED, Broadcast.Status.FAILED):
        raise ValidationError(_("This broadcast is already stopped."), code="stopped")
    ids = list(BroadcastRecipient.objects.filter(broadcast=locked, message__isnull=False)
               .values_list("message_id", flat=True))
    if locked.status == Broadcast.Status.QUEUED and not Message.objects.filter(
            pk__in=ids, status=Message.Status.QUEUED).exists():
        raise ValidationError(_("Every message of this broadcast has already been sent."), code="sent")
    withdrawn = 0
    for chunk in bulk.chunks(ids):
        withdrawn += sms_services.cancel_messages(ids=chunk)
    Broadcast.objects.filter(pk=locked.pk).update(
        status=Broadcast.Status.CANCELLED, cancelled_at=timezone.now(), cancelled_by=by,
        withdrawn=F("withdrawn") + withdrawn)
    broadcast.refresh_from_db()
    return withdrawn


def progress(broadcast: Broadcast) -> dict:
    """Counts for the progress bar: how many are queued, sent, delivered, failed, withdrawn."""
    message_ids = BroadcastRecipient.objects.filter(broadcast=broadcast, message__isnull=False).values("message_id")
    counts = dict(Message.objects.filter(pk__in=message_ids).order_by().values_list("status")
                  .annotate(n=Count("id")).values_list("status", "n"))
    st = Message.Status
    waiting = counts.get(st.QUEUED, 0) + counts.get(st.SENDING, 0)
    sent = counts.get(st.SENT, 0)
    delivered = counts.get(st.DELIVERED, 0)
    failed = counts.get(st.FAILED, 0)
    withdrawn = counts.get(st.CANCELLED, 0)
    no_report = counts.get(st.NO_REPORT, 0)  # accepted, no delivery report within the expiry
    created = waiting + sent + delivered + failed + withdrawn + no_report
    total = max(broadcast.total, created + broadcast.skipped, 1)

    def pct(n):
        return round(100 * n / total, 1)

    return {
        "total": broadcast.total, "created": created, "waiting": waiting, "sent": sent, "delivered": delivered,
        "failed": failed, "withdrawn": withdrawn, "no_report": no_report, "skipped": broadcast.skipped,
        "pct_delivered": pct(delivered), "pct_sent": pct(sent), "pct_failed": pct(failed),
        "pct_no_report": pct(no_report),
        "pct_withdrawn": pct(withdrawn), "pct_waiting": pct(waiting),
        "pct_queued": round(100 * (created + broadcast.skipped) / total, 1),
        # Polled while texts wait or wait for their delivery report: the badge then moves on by itself.
        "running": broadcast.is_active or (broadcast.status == Broadcast.Status.QUEUED and (waiting > 0 or sent > 0)),
        "cancellable": broadcast.is_active or (broadcast.status == Broadcast.Status.QUEUED and waiting > 0),
        "badge": badge(broadcast, waiting=waiting, sent=sent, delivered=delivered, failed=failed + no_report),
        "held": held_phrase(waiting) if broadcast.status == Broadcast.Status.QUEUED else "",
    }


def with_badges(broadcasts) -> list:
    """A page of broadcasts, each with its ``badge`` (one count query for each broadcast still in the queue)."""
    rows = list(broadcasts)
    for row in rows:
        if row.status == Broadcast.Status.QUEUED:
            row.badge = progress(row)["badge"]
        else:
            row.badge = badge(row, waiting=0, sent=0, delivered=0, failed=0)
    return rows


def held_phrase(waiting: int) -> str:
    """"Menunggu jam kirim: 252 pesan akan dikirim mulai 08:00 WIB." when the send window holds the broadcast."""
    from abah.sms.window import held_until, when_text

    if not waiting:
        return ""
    moment = held_until(Message.Kind.BROADCAST)
    if moment is None:
        return ""
    return ngettext("Waiting for the send window: %(count)d text will be sent from %(when)s.",
                    "Waiting for the send window: %(count)d texts will be sent from %(when)s.", waiting) % {
        "count": waiting, "when": when_text(moment)}


def badge(broadcast: Broadcast, *, waiting: int, sent: int, delivered: int, failed: int) -> dict:
    """The broadcast's badge follows its texts: "Dalam antrean" (or "Menunggu jam kirim") while texts wait,
    "Terkirim" once a gateway took them all, "Selesai" when every text has its final state, with the counts."""
    from abah.sms.window import held_until

    if broadcast.status != Broadcast.Status.QUEUED:
        css = "text-bg-danger" if broadcast.status in (Broadcast.Status.CANCELLED, Broadcast.Status.FAILED) else (
            "text-bg-warning")
        return {"state": broadcast.status, "label": broadcast.get_status_display(), "css": css, "detail": ""}
    counts = _("%(delivered)d delivered, %(failed)d failed") % {"delivered": delivered, "failed": failed}
    if waiting:
        if held_until(Message.Kind.BROADCAST) is not None:
            return {"state": "held", "label": _("Waiting for the send window"), "css": "text-bg-warning",
                    "detail": counts if delivered or failed else ""}
        return {"state": "queued", "label": broadcast.get_status_display(), "css": "text-bg-secondary",
                "detail": counts if delivered or failed else ""}
    if sent:
        return {"state": "sent", "label": _("Sent"), "css": "text-bg-info", "detail": counts}
    return {"state": "done", "label": _("Finished"), "css": "text-bg-success" if not failed else "text-bg-warning",
            "detail": counts}
