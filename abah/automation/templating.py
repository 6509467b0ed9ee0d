"""Render SMS templates: strict ``{name}`` placeholders, Indonesian formatting, GSM-7 where possible.

Public API (used by abah.nphd and this app)::

    from abah.automation.templating import render, grant_context
    rendered = render("invitation", grant_context(grant, tgl=date, jam=time, tempat="Gedung Negara Grahadi"))
    queue_to_institution(institution=grant.institution, text=rendered.text, kind=rendered.message_kind,
                         idempotency_key=..., meta=rendered.meta)

Values in the context may be ``str``/``int`` (inserted as they are), ``Decimal`` (money: "Rp400.000.000,00",
or "Rp. 400.000.000,00" when the template version asks for the legacy style), ``date``/``datetime``
("30 November 2018") or ``time`` ("pukul 09.00 WIB"). A placeholder whose value is missing (absent or None)
raises ``MissingValues``; unknown placeholders are refused when a template is saved (``validate_text``).
"""

import datetime
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from abah.core import formatting
from abah.sms import encoding

from .models import SmsTemplate, SmsTemplateVersion, TemplateKind

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
BRACE = re.compile(r"[{}]")

# Every placeholder the application knows, with what it means (shown in the editor).
PLACEHOLDERS = {
    "lembaga": gettext_lazy("institution name"),
    "nama": gettext_lazy("contact person (else 'Pimpinan' + institution)"),
    "tahun": gettext_lazy("fiscal year"),
    "kode": gettext_lazy("process code, e.g. 2018-HK-00005"),
    "jenis": gettext_lazy("grant type"),
    "nominal": gettext_lazy("amount, e.g. Rp400.000.000,00"),
    "bank": gettext_lazy("institution's bank"),
    "rek4": gettext_lazy("last 4 digits of the account number"),
    "telp": gettext_lazy("information phone number"),
    "tgl_batas": gettext_lazy("LPJ due date"),
    "tahap": gettext_lazy("disbursement stage (I/II)"),
    "tgl": gettext_lazy("date of the event, e.g. 30 November 2018"),
    "hari": gettext_lazy("weekday of the date"),
    "jam": gettext_lazy("time, e.g. pukul 09.00 WIB"),
    "tempat": gettext_lazy("place"),
    "kekurangan": gettext_lazy("what is missing"),
    "isi": gettext_lazy("message body"),
}
COMMON = ("lembaga", "nama", "tahun", "kode", "jenis", "nominal", "bank", "rek4", "telp", "tgl_batas")
ALLOWED = {
    TemplateKind.INVITATION: (*COMMON, "tgl", "hari", "jam", "tempat"),
    TemplateKind.INVITATION_CANCELLED: (*COMMON, "tgl", "hari", "jam", "tempat"),
    TemplateKind.DISBURSEMENT: (*COMMON, "tahap", "tgl"),
    TemplateKind.LPJ_BILLING: COMMON,
    TemplateKind.LPJ_OVERDUE: COMMON,
    TemplateKind.REVISION: (*COMMON, "kekurangan", "tgl"),
    TemplateKind.INCIDENTAL: (*COMMON, "isi"),
}

# The sms Message.kind each template kind is queued with.
MESSAGE_KIND = {
    TemplateKind.INVITATION: "invitation",
    TemplateKind.INVITATION_CANCELLED: "invitation",
    TemplateKind.DISBURSEMENT: "disbursement",
    TemplateKind.LPJ_BILLING: "billing",
    TemplateKind.LPJ_OVERDUE: "billing",
    TemplateKind.REVISION: "notification",
    TemplateKind.INCIDENTAL: "broadcast",
}

# DOMAIN.md §4 (T1, T2, T4–T7) and the cancelled invitation; the data migration seeds version 1 from these.
DEFAULT_TEXTS = {
    TemplateKind.INVITATION: (
        "Yth. Bpk/Ibu Pimpinan {lembaga}, dimohon hadir penandatanganan NPHD Hibah TA {tahun} pd {hari}, {tgl} "
        "{jam} di {tempat}. Bawa stempel, KTP asli Ketua, meterai 10.000. Info: {telp}. Biro Kesra Setdaprov Jatim"
    ),
    TemplateKind.INVITATION_CANCELLED: (
        "Yth. Bpk/Ibu Pimpinan {lembaga}, undangan penandatanganan NPHD Hibah TA {tahun} pd {hari}, {tgl} "
        "DIBATALKAN. Info: {telp}. Biro Kesra Setdaprov Jatim"
    ),
    TemplateKind.DISBURSEMENT: (
        "Yth. Pimpinan {lembaga}, dana hibah Tahap {tahap} TA {tahun} {nominal} telah ditransfer ke rek. {bank} "
        "***{rek4} a.n. lembaga pd {tgl}. Gunakan sesuai NPHD. Tidak dipungut biaya apapun. Biro Kesra Jatim"
    ),
    TemplateKind.LPJ_BILLING: (
        "Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} ({nominal}) wajib diterima Biro Kesra paling lambat "
        "{tgl_batas}. Abaikan jika sudah menyampaikan. Biro Kesra Jatim"
    ),
    TemplateKind.LPJ_OVERDUE: (
        "Yth. Pimpinan {lembaga}, LPJ hibah TA {tahun} belum kami terima (batas {tgl_batas}). Mohon segera "
        "disampaikan. Sisa dana wajib disetor ke Kas Daerah. Biro Kesra Jatim"
    ),
    TemplateKind.REVISION: (
        "Yth. Pimpinan {lembaga}, berkas usulan hibah TA {tahun} no. {kode} perlu dilengkapi: {kekurangan}. "
        "Batas {tgl}. Biro Kesra Jatim"
    ),
    TemplateKind.INCIDENTAL: "Yth. Bpk/Ibu {nama}, {isi}. Biro Kesra Setdaprov Jatim",
}

MAX_SEGMENTS_WARNING = 2
DEFAULT_INFO_PHONE = "(031) 3524001"
STAGE_NAMES = {1: "I", 2: "II"}


def _braced(names) -> str:
    return ", ".join("{" + n + "}" for n in names)


class MissingValues(ValueError):
    """Rendering needs values the context does not have."""

    def __init__(self, kind: str, names: list[str]):
        self.kind = kind
        self.names = names
        super().__init__(
            _("The %(kind)s template needs values for: %(names)s.") % {
                "kind": kind, "names": _braced(names)}
        )


@dataclass(frozen=True)
class Rendered:
    text: str
    version_id: int | None
    version: int | None
    analysis: encoding.Analysis
    kind: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def message_kind(self) -> str:
        return MESSAGE_KIND.get(self.kind, "notification")

    @property
    def meta(self) -> dict:
        """What a queued message records about its template (pass as ``meta=`` to queue_message)."""
        return {"template_kind": self.kind, "template_version": self.version_id, "template_number": self.version}


def money_legacy_default() -> bool:
    return bool(getattr(settings, "ABAH_SMS_MONEY_LEGACY", False))


def info_phone() -> str:
    return getattr(settings, "ABAH_SMS_INFO_PHONE", DEFAULT_INFO_PHONE)


def placeholders_in(text: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def validate_text(kind: str, text: str) -> list[str]:
    """The placeholders of a template text, or a translated ValidationError listing what is wrong."""
    if kind not in TemplateKind.values:
        raise ValidationError(_("Unknown template kind: %(kind)s.") % {"kind": kind}, code="kind")
    text = text or ""
    errors = []
    if not text.strip():
        errors.append(ValidationError(_("The template text is empty."), code="empty"))
    names = placeholders_in(text)
    allowed = ALLOWED[TemplateKind(kind)]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        errors.append(ValidationError(
            ngettext(
                "The placeholder %(names)s is not known, so it cannot be filled in. Use only the placeholders "
                "allowed in this template: %(allowed)s.",
                "The placeholders %(names)s are not known, so they cannot be filled in. Use only the placeholders "
                "allowed in this template: %(allowed)s.",
                len(unknown),
            ) % {"names": _braced(unknown), "allowed": _braced(allowed)},
            code="unknown_placeholder",
        ))
    if BRACE.search(PLACEHOLDER.sub("", text)):
        errors.append(ValidationError(
            _("Braces { } may only surround a placeholder name such as {lembaga}."), code="brace"))
    from abah.sms.services import MAX_TEXT_CHARS

    if len(text) > MAX_TEXT_CHARS:
        errors.append(ValidationError(
            _("The template is too long (at most %(max)d characters).") % {"max": MAX_TEXT_CHARS}, code="too_long"))
    if errors:
        raise ValidationError(errors)
    return names


def format_value(value, *, legacy: bool | None = None) -> str:
    if isinstance(value, Decimal | float):
        return formatting.rupiah(value, legacy=money_legacy_default() if legacy is None else legacy)
    if isinstance(value, datetime.datetime | datetime.date):
        return formatting.tanggal(value)
    if isinstance(value, datetime.time):
        return formatting.jam(value)
    return str(value)


def substitute(text: str, context: dict, *, kind: str = "", legacy: bool | None = None) -> str:
    """Replace every {name} in one pass (values are never re-scanned); missing values raise MissingValues."""
    missing = [n for n in placeholders_in(text) if context.get(n) is None or context.get(n) == ""]
    if missing:
        raise MissingValues(kind, missing)
    rendered = PLACEHOLDER.sub(lambda m: format_value(context[m.group(1)], legacy=legacy), text)
    return " ".join(rendered.split())  # one line, single spaces: newlines and double spaces cost characters


def warnings_for(analysis: encoding.Analysis, text: str) -> tuple[str, ...]:
    out = []
    if analysis.encoding != encoding.GSM7:
        culprits = " ".join(repr(c) for c in encoding.ucs2_culprits(text)[:10])
        out.append(_("These characters force UCS-2 (70 characters per SMS): %(chars)s.") % {"chars": culprits})
    if analysis.segments > MAX_SEGMENTS_WARNING:
        out.append(_("This message needs %(n)d SMS segments (more than %(max)d).") % {
            "n": analysis.segments, "max": MAX_SEGMENTS_WARNING})
    return tuple(out)


def current_version(kind: str) -> SmsTemplateVersion:
    template = SmsTemplate.objects.select_related("current").filter(kind=kind).first()
    if template is None and kind in TemplateKind.values:
        from .services import ensure_templates

        ensure_templates()
        template = SmsTemplate.objects.select_related("current").filter(kind=kind).first()
    if template is None or template.current is None:
        raise ValidationError(_("There is no SMS template for %(kind)s.") % {"kind": kind}, code="no_template")
    return template.current


def render_version(version: SmsTemplateVersion, context: dict, *, kind: str | None = None) -> Rendered:
    kind = kind or version.template.kind
    text = substitute(version.text, context, kind=kind, legacy=version.legacy_money)
    analysis = encoding.analyze(text)
    return Rendered(text=text, version_id=version.pk, version=version.number, analysis=analysis, kind=kind,
                    warnings=warnings_for(analysis, text))


def render(kind: str, context: dict) -> Rendered:
    """The current version of ``kind``'s template filled with ``context`` (see the module docstring)."""
    version = current_version(kind)
    return render_version(version, context, kind=kind)


def render_text(kind: str, text: str, context: dict, *, legacy: bool | None = None) -> Rendered:
    """A draft text (the editor's preview, a broadcast's own text), not saved as a version."""
    validate_text(kind, text)
    rendered = substitute(text, context, kind=kind, legacy=legacy)
    analysis = encoding.analyze(rendered)
    return Rendered(text=rendered, version_id=None, version=None, analysis=analysis, kind=kind,
                    warnings=warnings_for(analysis, rendered))


@functools.lru_cache(maxsize=64)
def _jenis_label(jenis: str, language: str) -> str:
    """Grant.get_jenis_display(), cached per language: broadcasts render thousands of contexts."""
    from abah.grants.models import Grant

    return str(dict(Grant.Jenis.choices).get(jenis, jenis))


def grant_context(grant, **extra) -> dict:
    """The placeholders a grant provides, plus ``extra`` (which wins).

    Values are typed (Decimal amount, date) and formatted by render; a value the grant does not have
    (no bank, no account number, no LPJ due date) is left out, so a template using it fails clearly.
    ``tgl`` given as a date also provides ``hari`` (its weekday); ``tahap`` may be given as 1/2.
    """
    from abah.grants.models import Grant  # noqa: F401  (automation depends on grants, never the reverse)

    institution = grant.institution
    contact = institution.current_contact
    context = {
        "lembaga": institution.name,
        "nama": contact.person if contact and contact.person else f"Pimpinan {institution.name}",
        "tahun": str(grant.fiscal_year),
        "kode": grant.kode,
        "jenis": _jenis_label(grant.jenis, get_language()),
        "nominal": grant.nominal,
        "telp": info_phone(),
    }
    if institution.bank_name.strip():
        context["bank"] = institution.bank_name.strip()
    account = "".join(ch for ch in institution.account_number if ch.isalnum())
    if len(account) >= 4:
        context["rek4"] = account[-4:]
    if grant.lpj_due_date:
        context["tgl_batas"] = grant.lpj_due_date
    context.update(extra)
    if isinstance(context.get("tahap"), int):
        context["tahap"] = STAGE_NAMES.get(context["tahap"], str(context["tahap"]))
    tgl = context.get("tgl")
    if isinstance(tgl, datetime.date) and "hari" not in extra:
        day = tgl.astimezone(formatting.WIB).date() if isinstance(tgl, datetime.datetime) else tgl
        context["hari"] = formatting.DAYS_ID[day.weekday()]
    if isinstance(context.get("nominal"), int):
        context["nominal"] = Decimal(context["nominal"])
    return context


def sample_context(kind: str = "") -> dict:
    """Values for previewing a template without a grant."""
    return {
        "lembaga": "Yayasan Nurul Huda", "nama": "Bpk. Ahmad Fauzi", "tahun": "2018", "kode": "2018-HK-00005",
        "jenis": "Hibah Berbadan Hukum Indonesia", "nominal": Decimal("400000000"), "bank": "Bank Jatim",
        "rek4": "4556", "telp": info_phone(), "tgl_batas": datetime.date(2019, 1, 10), "tahap": "I",
        "tgl": datetime.date(2018, 11, 30), "hari": "Jumat", "jam": datetime.time(9, 0),
        "tempat": "Gedung Negara Grahadi", "kekurangan": "proposal, RAB", "isi": "isi pesan",
    }
