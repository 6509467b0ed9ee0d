"""Writes on institutions, contacts and grants. Every change is validated, logged (Activity) and atomic.

Signals (abah.grants.signals) are sent with ``transaction.on_commit`` so a rolled-back action announces nothing.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from abah.core.formatting import rupiah, tanggal

from . import signals
from .models import Activity, Contact, Disbursement, Grant, Institution, KodeCounter, Note
from .phones import parse_contact_number

S = Grant.Status

OPEN_END = (S.DITOLAK, S.BATAL)
_REJECTABLE = {
    S.USULAN_DITERIMA, S.VERIFIKASI_ADMINISTRASI, S.PERLU_PERBAIKAN, S.VERIFIKASI_FAKTUAL,
    S.DIREKOMENDASIKAN, S.PERTIMBANGAN_TAPD,
}
_CANCELLABLE = _REJECTABLE | {S.DIANGGARKAN, S.DITETAPKAN, S.NPHD_DIJADWALKAN, S.NPHD_DITANDATANGANI}

# The lifecycle of DOMAIN.md §2: status → statuses it may move to.
TRANSITIONS: dict[str, set[str]] = {
    S.USULAN_DITERIMA: {S.VERIFIKASI_ADMINISTRASI},
    S.VERIFIKASI_ADMINISTRASI: {S.PERLU_PERBAIKAN, S.VERIFIKASI_FAKTUAL},
    S.PERLU_PERBAIKAN: {S.VERIFIKASI_ADMINISTRASI},
    S.VERIFIKASI_FAKTUAL: {S.DIREKOMENDASIKAN},
    S.DIREKOMENDASIKAN: {S.PERTIMBANGAN_TAPD},
    S.PERTIMBANGAN_TAPD: {S.DIANGGARKAN},
    S.DIANGGARKAN: {S.DITETAPKAN},
    S.DITETAPKAN: {S.NPHD_DIJADWALKAN, S.NPHD_DITANDATANGANI},
    S.NPHD_DIJADWALKAN: {S.NPHD_DITANDATANGANI, S.DITETAPKAN},
    S.NPHD_DITANDATANGANI: {S.PENCAIRAN_TAHAP_1_PROSES, S.PENCAIRAN_TAHAP_1_SELESAI},
    S.PENCAIRAN_TAHAP_1_PROSES: {S.PENCAIRAN_TAHAP_1_SELESAI},
    S.PENCAIRAN_TAHAP_1_SELESAI: {S.PENCAIRAN_TAHAP_2_PROSES, S.PENCAIRAN_TAHAP_2_SELESAI, S.LPJ_MENUNGGU},
    S.PENCAIRAN_TAHAP_2_PROSES: {S.PENCAIRAN_TAHAP_2_SELESAI},
    S.PENCAIRAN_TAHAP_2_SELESAI: {S.LPJ_MENUNGGU},
    S.LPJ_MENUNGGU: {S.LPJ_TERLAMBAT, S.LPJ_DITERIMA},
    S.LPJ_TERLAMBAT: {S.LPJ_DITERIMA},
    S.LPJ_DITERIMA: {S.LPJ_TERVERIFIKASI, S.LPJ_MENUNGGU},
    S.LPJ_TERVERIFIKASI: {S.SELESAI},
    S.SELESAI: {S.ARSIP},
    S.DITOLAK: {S.ARSIP},
    S.BATAL: {S.ARSIP},
    S.ARSIP: set(),
}
for _state in _REJECTABLE:
    TRANSITIONS[_state] |= {S.DITOLAK}
for _state in _CANCELLABLE:
    TRANSITIONS[_state] |= {S.BATAL}

# Transitions that need data: done only through their own service, never through grant_transition().
DEDICATED = {
    S.DITETAPKAN: "grant_set_sk",
    S.NPHD_DIJADWALKAN: "grant_schedule_nphd",
    S.NPHD_DITANDATANGANI: "grant_sign_nphd",
    S.PENCAIRAN_TAHAP_1_SELESAI: "disbursement_record",
    S.PENCAIRAN_TAHAP_2_SELESAI: "disbursement_record",
    S.LPJ_DITERIMA: "lpj_receive",
    S.LPJ_TERVERIFIKASI: "lpj_verify",
    S.ARSIP: "grant_archive",
}

ARCHIVABLE = {S.SELESAI, S.DITOLAK, S.BATAL}


def allowed_transitions(grant: Grant) -> list[str]:
    return sorted(TRANSITIONS.get(grant.status, set()), key=lambda s: list(S.values).index(s))


def simple_transitions(grant: Grant) -> list[str]:
    """Targets the generic "change status" form may offer (those without a dedicated service)."""
    return [s for s in allowed_transitions(grant) if s not in DEDICATED or (grant.status == S.NPHD_DIJADWALKAN
                                                                             and s == S.DITETAPKAN)]


def _label(status: str) -> str:
    return str(S(status).label)


def _check_transition(grant: Grant, target: str) -> None:
    if target not in S.values:
        raise ValidationError(_("Unknown status “%(status)s”.") % {"status": target}, code="unknown_status")
    if target not in TRANSITIONS.get(grant.status, set()):
        raise ValidationError(
            _("A grant with status “%(current)s” cannot change to “%(target)s”.")
            % {"current": _label(grant.status), "target": _label(target)},
            code="illegal_transition",
        )


def log(*, action: str, message: str, user=None, grant: Grant | None = None,
        institution: Institution | None = None) -> Activity:
    if grant is not None and institution is None:
        institution = grant.institution
    return Activity.objects.create(action=action, message=message[:500], user=user, grant=grant,
                                   institution=institution)


def _move(grant: Grant, target: str, *, by, extra_fields=(), message: str = "") -> Grant:
    """Validated status change with log and signal; the caller has set any extra fields."""
    _check_transition(grant, target)
    old = grant.status
    grant.status = target
    grant.save(update_fields=["status", "updated_at", *extra_fields])
    text = _("Status changed from “%(old)s” to “%(new)s”.") % {"old": _label(old), "new": _label(target)}
    log(action="status", message=f"{text} {message}".strip(), user=by, grant=grant)
    transaction.on_commit(lambda: signals.grant_status_changed.send(
        sender=Grant, grant=grant, old_status=old, new_status=target, user=by))
    return grant


def _locked(grant: Grant) -> Grant:
    """Re-read the grant under a row lock so two concurrent changes cannot both pass validation."""
    return Grant.objects.select_for_update().select_related("institution").get(pk=grant.pk)


# ---------------------------------------------------------------- institutions and contacts


@transaction.atomic
def institution_create(*, by=None, name: str, **fields) -> Institution:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("The institution needs a name."), code="name")
    institution = Institution(name=name, **fields)
    institution.full_clean()
    institution.save()
    log(action="institution_created", message=_("Institution “%(name)s” created.") % {"name": name},
        user=by, institution=institution)
    return institution


@transaction.atomic
def institution_update(*, institution: Institution, by, **fields) -> Institution:
    for key, value in fields.items():
        setattr(institution, key, value)
    institution.full_clean()
    institution.save()
    log(action="institution_updated", message=_("Institution data updated."), user=by, institution=institution)
    return institution


@transaction.atomic
def contact_set(*, institution: Institution, person: str, phone: str, region: str = "ID", by=None,
                grant: Grant | None = None) -> Contact:
    """Make (person, phone) the institution's current contact; the previous one is kept as history."""
    person = (person or "").strip()
    if not person:
        raise ValidationError({"person": _("Enter the contact person's name.")})
    try:
        e164 = parse_contact_number(phone, region or "ID")
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from None
    institution = Institution.objects.select_for_update().get(pk=institution.pk)
    previous = institution.contacts.filter(is_current=True).first()
    if previous and previous.phone == e164 and previous.person == person:
        return previous
    now = timezone.now()
    if previous:
        previous.is_current = False
        previous.replaced_at = now
        previous.save(update_fields=["is_current", "replaced_at"])
    contact = Contact.objects.create(institution=institution, person=person[:150], phone=e164,
                                     region=(region or "ID").upper(), is_current=True, created_by=by)
    log(action="contact_set", user=by, institution=institution, grant=grant,
        message=_("Contact set to %(person)s, %(phone)s.") % {"person": contact.person, "phone": e164})
    transaction.on_commit(lambda: signals.contact_changed.send(
        sender=Institution, institution=institution, contact=contact, previous=previous, user=by))
    return contact


# ---------------------------------------------------------------- grants


def _next_kode(fiscal_year: int, jenis: str) -> str:
    """Race-safe: the counter row is locked (select_for_update) until the surrounding transaction ends."""
    try:
        with transaction.atomic():
            KodeCounter.objects.get_or_create(fiscal_year=fiscal_year, jenis=jenis)
    except IntegrityError:
        pass  # another transaction created it first
    counter = KodeCounter.objects.select_for_update().get(fiscal_year=fiscal_year, jenis=jenis)
    while True:
        counter.last += 1
        kode = f"{fiscal_year}-{jenis}-{counter.last:05d}"
        if not Grant.objects.filter(kode=kode).exists():  # imported codes may already use a number
            break
    counter.save(update_fields=["last"])
    return kode


def _validate_year(fiscal_year) -> int:
    try:
        year = int(fiscal_year)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise ValidationError({"fiscal_year": _("Enter a fiscal year between 2000 and 2100.")})
    return year


def _money(value, field: str, *, required: bool = False):
    if value in (None, ""):
        if required:
            raise ValidationError({field: _("Enter an amount.")})
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ValidationError({field: _("Enter a valid amount.")}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e16"):
        raise ValidationError({field: _("Enter a valid amount.")})
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def grant_create(*, institution: Institution, fiscal_year: int, jenis: str = Grant.Jenis.HK,
                 amount_requested, purpose: str = "", by=None, petugas=None, kode: str = "",
                 **fields) -> Grant:
    """A new proposal (status USULAN_DITERIMA unless given); the kode proses is generated when empty."""
    year = _validate_year(fiscal_year)
    if jenis not in Grant.Jenis.values:
        raise ValidationError({"jenis": _("Unknown grant type.")})
    amount = _money(amount_requested, "amount_requested", required=True)
    for key in ("amount_recommended", "amount_approved"):
        if key in fields:
            fields[key] = _money(fields[key], key)
    kode = (kode or "").strip().upper() or _next_kode(year, jenis)
    if Grant.objects.filter(kode=kode).exists():
        raise ValidationError({"kode": _("The process code %(kode)s is already used.") % {"kode": kode}})
    grant = Grant(institution=institution, fiscal_year=year, jenis=jenis, kode=kode, amount_requested=amount,
                  purpose=purpose, petugas=petugas, **fields)
    grant.save()
    log(action="grant_created", user=by, grant=grant,
        message=_("Grant %(kode)s created for %(institution)s.") % {"kode": kode, "institution": institution.name})
    return grant


@transaction.atomic
def grant_transition(*, grant: Grant, to: str, by, note: str = "") -> Grant:
    """A status change that needs no extra data (e.g. verification steps, reject, cancel)."""
    grant = _locked(grant)
    if to in DEDICATED and not (to == S.DITETAPKAN and grant.status == S.NPHD_DIJADWALKAN):
        _check_transition(grant, to)
        raise ValidationError(_("This step needs its own form (%(step)s).") % {"step": _label(to)},
                              code="dedicated")
    extra = []
    if to == S.DITETAPKAN:  # NPHD schedule withdrawn
        grant.nphd_date = None
        extra.append("nphd_date")
    _move(grant, to, by=by, extra_fields=extra, message=note.strip())
    return grant


@transaction.atomic
def grant_set_sk(*, grant: Grant, sk_number: str, sk_date: datetime.date, sk_issuer: str = "GUBERNUR JAWA TIMUR",
                 sk_stage: int | None = 1, amount_approved=None, dpa_number: str = "", by) -> Grant:
    """DIANGGARKAN → DITETAPKAN: the SK Gubernur fixes the approved amount."""
    grant = _locked(grant)
    _check_transition(grant, S.DITETAPKAN)
    if not (sk_number or "").strip() or not sk_date:
        raise ValidationError(_("Enter the SK number and date."), code="sk")
    grant.sk_number = sk_number.strip()
    grant.sk_date = sk_date
    grant.sk_issuer = (sk_issuer or "").strip()
    grant.sk_stage = sk_stage
    approved = _money(amount_approved, "amount_approved")
    grant.amount_approved = approved if approved is not None else grant.amount_recommended or grant.amount_requested
    if dpa_number:
        grant.dpa_number = dpa_number.strip()
    return _move(grant, S.DITETAPKAN, by=by, extra_fields=["sk_number", "sk_date", "sk_issuer", "sk_stage",
                                                          "amount_approved", "dpa_number"])


@transaction.atomic
def grant_schedule_nphd(*, grant: Grant, nphd_date: datetime.date, by) -> Grant:
    grant = _locked(grant)
    _check_transition(grant, S.NPHD_DIJADWALKAN)
    if not nphd_date:
        raise ValidationError(_("Enter the NPHD date."), code="nphd_date")
    grant.nphd_date = nphd_date
    return _move(grant, S.NPHD_DIJADWALKAN, by=by, extra_fields=["nphd_date"],
                 message=_("NPHD date: %(date)s.") % {"date": tanggal(nphd_date)})


def default_lpj_due(fiscal_year: int) -> datetime.date:
    """10 January of the next fiscal year (DOMAIN.md §1), unless the NPHD says otherwise."""
    return datetime.date(fiscal_year + 1, 1, 10)


@transaction.atomic
def grant_sign_nphd(*, grant: Grant, signed_on: datetime.date, nphd_number: str = "",
                    lpj_due_date: datetime.date | None = None, contact_person: str = "", contact_phone: str = "",
                    contact_region: str = "ID", by) -> Grant:
    """Record the signed NPHD. Without a current contact the institution's contact must be given here."""
    grant = _locked(grant)
    _check_transition(grant, S.NPHD_DITANDATANGANI)
    if not signed_on:
        raise ValidationError({"signed_on": _("Enter the signing date.")})
    institution = grant.institution
    if contact_phone or contact_person:
        contact_set(institution=institution, person=contact_person, phone=contact_phone, region=contact_region,
                    by=by, grant=grant)
    elif institution.current_contact is None:
        raise ValidationError(
            _("Please provide a contact number for %(institution)s.") % {"institution": institution.name},
            code="contact_required",
        )
    grant.nphd_signed_on = signed_on
    grant.nphd_number = (nphd_number or "").strip()
    grant.lpj_due_date = lpj_due_date or grant.lpj_due_date or default_lpj_due(grant.fiscal_year)
    _move(grant, S.NPHD_DITANDATANGANI, by=by, extra_fields=["nphd_signed_on", "nphd_number", "lpj_due_date"])
    transaction.on_commit(lambda: signals.nphd_signed.send(sender=Grant, grant=grant, user=by))
    return grant


@transaction.atomic
def disbursement_record(*, grant: Grant, stage: int, amount, paid_on: datetime.date, sp2d_number: str,
                        by) -> Disbursement:
    """Pencairan Tahap I/II transferred (SP2D). After the last stage the grant waits for its LPJ."""
    grant = _locked(grant)
    if stage not in (1, 2) or stage > grant.stage_count:
        raise ValidationError(_("This grant has no disbursement stage %(stage)s.") % {"stage": stage}, code="stage")
    target = S.PENCAIRAN_TAHAP_1_SELESAI if stage == 1 else S.PENCAIRAN_TAHAP_2_SELESAI
    _check_transition(grant, target)
    value = _money(amount, "amount", required=True)
    if value <= 0:
        raise ValidationError({"amount": _("Enter an amount greater than zero.")})
    if not (sp2d_number or "").strip():
        raise ValidationError({"sp2d_number": _("Enter the SP2D number.")})
    if not paid_on:
        raise ValidationError({"paid_on": _("Enter the date.")})
    paid = sum((d.amount for d in grant.disbursements.all()), Decimal("0"))
    ceiling = grant.amount_approved or grant.nominal or Decimal("0")
    if paid + value > ceiling:
        raise ValidationError({"amount": _("The disbursements would exceed the approved amount of %(amount)s.")
                               % {"amount": rupiah(ceiling)}})
    disbursement = Disbursement.objects.create(grant=grant, stage=stage, amount=value, paid_on=paid_on,
                                               sp2d_number=sp2d_number.strip(), recorded_by=by)
    stage_name = "I" if stage == 1 else "II"
    _move(grant, target, by=by, message=_("Disbursement stage %(stage)s, SP2D %(sp2d)s.")
          % {"stage": stage_name, "sp2d": disbursement.sp2d_number})
    if stage == grant.stage_count:
        _move(grant, S.LPJ_MENUNGGU, by=by)
    # Inside the transaction: receivers write rows (the notice SMS) that commit or roll back with it.
    signals.disbursement_recording.send(sender=Grant, grant=grant, disbursement=disbursement, user=by)
    transaction.on_commit(lambda: signals.disbursement_recorded.send(
        sender=Grant, grant=grant, disbursement=disbursement, user=by))
    return disbursement


@transaction.atomic
def lpj_set_due_date(*, grant: Grant, due_date: datetime.date, by) -> Grant:
    grant = _locked(grant)
    grant.lpj_due_date = due_date
    grant.save(update_fields=["lpj_due_date", "updated_at"])
    log(action="lpj_due", user=by, grant=grant,
        message=_("LPJ due date set to %(date)s.") % {"date": tanggal(due_date)})
    return grant


@transaction.atomic
def lpj_receive(*, grant: Grant, received_on: datetime.date, by) -> Grant:
    grant = _locked(grant)
    _check_transition(grant, S.LPJ_DITERIMA)
    if not received_on:
        raise ValidationError({"received_on": _("Enter the date the LPJ was received.")})
    grant.lpj_received_on = received_on
    _move(grant, S.LPJ_DITERIMA, by=by, extra_fields=["lpj_received_on"])
    transaction.on_commit(lambda: signals.lpj_received.send(sender=Grant, grant=grant, user=by))
    return grant


@transaction.atomic
def lpj_verify(*, grant: Grant, verified_on: datetime.date | None = None, by) -> Grant:
    grant = _locked(grant)
    _check_transition(grant, S.LPJ_TERVERIFIKASI)
    grant.lpj_verified_on = verified_on or timezone.localdate()
    grant.lpj_verified_by = by
    _move(grant, S.LPJ_TERVERIFIKASI, by=by, extra_fields=["lpj_verified_on", "lpj_verified_by"])
    transaction.on_commit(lambda: signals.lpj_verified.send(sender=Grant, grant=grant, user=by))
    return grant


@transaction.atomic
def lpj_mark_overdue(*, today: datetime.date | None = None) -> int:
    """Periodic job: LPJ_MENUNGGU past its due date → LPJ_TERLAMBAT. Idempotent; returns the count."""
    today = today or timezone.localdate()
    count = 0
    for grant in Grant.objects.select_for_update().select_related("institution").filter(
            status=S.LPJ_MENUNGGU, lpj_due_date__lt=today):
        _move(grant, S.LPJ_TERLAMBAT, by=None)
        count += 1
    return count


@transaction.atomic
def grant_close(*, grant: Grant, by) -> Grant:
    """LPJ_TERVERIFIKASI → SELESAI, then archived (closing a grant archives it)."""
    grant = _locked(grant)
    _move(grant, S.SELESAI, by=by)
    return grant_archive(grant=grant, by=by)


@transaction.atomic
def grant_archive(*, grant: Grant, by) -> Grant:
    grant = _locked(grant)
    _check_transition(grant, S.ARSIP)
    grant.status_before_archive = grant.status
    return _move(grant, S.ARSIP, by=by, extra_fields=["status_before_archive"])


@transaction.atomic
def fiscal_year_close(*, fiscal_year: int, by) -> int:
    """Close a fiscal year: every grant of that year not yet archived goes to the archive. Returns the count."""
    year = _validate_year(fiscal_year)
    count = 0
    grants = Grant.objects.select_for_update().select_related("institution").filter(fiscal_year=year).exclude(
        status=S.ARSIP)
    for grant in grants:
        old = grant.status
        grant.status_before_archive = old
        grant.status = S.ARSIP
        grant.save(update_fields=["status", "status_before_archive", "updated_at"])
        log(action="archived", user=by, grant=grant,
            message=_("Archived with the closing of fiscal year %(year)s (was “%(old)s”).")
            % {"year": year, "old": _label(old)})
        transaction.on_commit(lambda g=grant, o=old: signals.grant_status_changed.send(
            sender=Grant, grant=g, old_status=o, new_status=S.ARSIP, user=by))
        count += 1
    return count


@transaction.atomic
def grant_assign(*, grant: Grant, petugas, by) -> Grant:
    """Tugaskan kepada: only an Admin may (re)assign; the new petugas must be active staff."""
    from abah.core.access import is_admin, is_staff_member

    if not is_admin(by):
        raise ValidationError(_("Only an Admin may assign grants."), code="forbidden")
    if petugas is not None and not is_staff_member(petugas):
        raise ValidationError({"petugas": _("Choose an active staff member.")})
    grant = _locked(grant)
    grant.petugas = petugas
    grant.save(update_fields=["petugas", "updated_at"])
    name = str(petugas) if petugas else "-"
    log(action="assigned", user=by, grant=grant, message=_("Assigned to %(name)s.") % {"name": name})
    return grant


@transaction.atomic
def note_add(*, grant: Grant, text: str, by) -> Note:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write a note.")})
    if len(text) > 4000:
        raise ValidationError({"text": _("A note may have at most 4000 characters.")})
    note = Note.objects.create(grant=grant, author=by, text=text)
    log(action="note", user=by, grant=grant, message=_("Note added: %(text)s") % {"text": text[:200]})
    transaction.on_commit(lambda: signals.note_added.send(sender=Grant, grant=grant, note=note, user=by))
    return note
