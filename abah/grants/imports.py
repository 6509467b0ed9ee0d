"""Import of institutions, contacts and grants from .xlsx or .csv: preview with per-row errors, then confirm.

One row = one grant of one institution (created when no institution with that name and regency exists),
optionally with the institution's contact. Nothing is written unless every row is valid; the write is one
transaction. The uploaded file waits in this instance's staging folder (``var/import-staging``) between preview
and confirmation; it is removed after confirm or cancel, and anything older than a day by ``purge_staging()``.
"""

import csv
import datetime
import io
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abah.core.spreadsheets import Limits, check_xlsx
from abah.core.text import clean_text

from . import services
from .models import Grant, Institution
from .phones import parse_contact_number
from .search import KODE_RE, search_key

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
STAGING_MAX_AGE = datetime.timedelta(days=1)
XLSX_LIMITS = Limits(max_rows=20_000, max_columns=100)  # declared or held beyond that: refused unread
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# key, description; the key is the column name expected in the first row (case-insensitive).
COLUMNS = [
    ("lembaga", gettext_lazy("institution name (required)")),
    ("kabupaten", gettext_lazy("regency/city")),
    ("kategori", gettext_lazy("category, e.g. Foundation, Mosque, Islamic boarding school")),
    ("alamat", gettext_lazy("address")),
    ("npwp", gettext_lazy("NPWP")),
    ("bank", gettext_lazy("bank")),
    ("rekening", gettext_lazy("account number")),
    ("ketua", gettext_lazy("chair")),
    ("kontak_person", gettext_lazy("contact person")),
    ("telepon", gettext_lazy("mobile number of the contact")),
    ("tahun", gettext_lazy("fiscal year (required)")),
    ("kode", gettext_lazy("process code; empty: generated")),
    ("jenis", gettext_lazy("type code, e.g. HK")),
    ("dpa", gettext_lazy("DPA number")),
    ("nominal_usulan", gettext_lazy("amount requested (required)")),
    ("nominal_rekomendasi", gettext_lazy("amount recommended")),
    ("nominal_disetujui", gettext_lazy("amount approved")),
    ("peruntukan", gettext_lazy("purpose")),
    ("status", gettext_lazy("status, e.g. Proposal received; empty: Proposal received")),
    ("petugas", gettext_lazy("username of the officer")),
    ("rekomendasi", gettext_lazy("REGULER, ASPIRASI or KHUSUS")),
]
KEYS = [key for key, _d in COLUMNS]
# The column names Ekspor writes (the same in every language): each one reads back as its key (lowercase,
# spaces as "_"), so an exported list imports unchanged.
EXPORT_COLUMNS = {"kode": "Kode", "tahun": "Tahun", "jenis": "Jenis", "dpa": "DPA", "lembaga": "Lembaga",
                  "kabupaten": "Kabupaten", "kategori": "Kategori", "nominal_usulan": "Nominal usulan",
                  "nominal_rekomendasi": "Nominal rekomendasi", "nominal_disetujui": "Nominal disetujui",
                  "status": "Status", "rekomendasi": "Rekomendasi", "petugas": "Petugas", "peruntukan": "Peruntukan"}
# The names older exports wrote (Indonesian and English), read as the same columns.
ALIASES = {
    "code": "kode", "tahun_anggaran": "tahun", "fiscal_year": "tahun", "nomor_dpa": "dpa", "dpa_number": "dpa",
    "institution": "lembaga", "kabupaten/kota": "kabupaten", "regency/city": "kabupaten", "type": "jenis",
    "category": "kategori", "amount_requested": "nominal_usulan", "amount_recommended": "nominal_rekomendasi",
    "amount_approved": "nominal_disetujui", "officer": "petugas", "recommendation": "rekomendasi",
    "purpose": "peruntukan",
}
# Columns of older exports that are derived from the others (or set by the system): read and left out.
DERIVED = {"nominasi", "nomination", "sk", "dibuat", "created"}


@dataclass
class Row:
    line: int
    data: dict
    errors: list = field(default_factory=list)
    clean: dict = field(default_factory=dict)


@dataclass
class Preview:
    filename: str
    rows: list

    @property
    def error_rows(self):
        return [r for r in self.rows if r.errors]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.error_rows

    @property
    def shown_rows(self):
        """Every row with an error, then the first valid rows (the preview stays readable)."""
        return self.error_rows + [r for r in self.rows if not r.errors][:100]


# ---------------------------------------------------------------- reading


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # Every cell passes through the one cleaning: a NUL or a control character in a spreadsheet never reaches
    # the database (PostgreSQL refuses NUL), a line separator becomes a line feed.
    return clean_text(value).strip()


def _read(content: bytes, filename: str) -> list[dict]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _read_xlsx(content)
    elif name.endswith(".csv"):
        table = _read_csv(content)
    else:
        raise ValidationError(_("Upload an .xlsx or .csv file."), code="type")
    if not table:
        raise ValidationError(_("The file is empty."), code="empty")
    header = [_cell(h).lower().replace(" ", "_") for h in table[0]]
    header = ["" if h in DERIVED else ALIASES.get(h, h) for h in header]
    if "lembaga" not in header:
        raise ValidationError(_("The first row must hold the column names (at least “lembaga”)."), code="header")
    unknown = [h for h in header if h and h not in KEYS]
    if unknown:
        raise ValidationError(_("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}, code="columns")
    records = []
    for values in table[1:]:
        values = [_cell(v) for v in values]
        if not any(values):
            continue
        records.append({h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h})
        if len(records) > MAX_ROWS:
            raise ValidationError(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS}, code="rows")
    return records


def _read_xlsx(content: bytes) -> list[list]:
    import zipfile

    from openpyxl import load_workbook

    # Sizes, declared dimensions, rows, cells and shared strings checked by streaming, before openpyxl loads.
    check_xlsx(content, XLSX_LIMITS)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, IndexError, AttributeError):
        raise ValidationError(_("The file is not a valid .xlsx workbook."), code="xlsx") from None
    try:
        if not workbook.worksheets:
            raise ValidationError(_("The file is empty."), code="empty")
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(max_row=XLSX_LIMITS.max_rows, max_col=XLSX_LIMITS.max_columns,
                                   values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 1:
                raise ValidationError(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS}, code="rows")
        return rows
    finally:
        workbook.close()


def _read_csv(content: bytes) -> list[list]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(_("The CSV file must be encoded in UTF-8."), code="encoding") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as error:  # a cell over csv.field_size_limit() (128 KB), a broken quote …
        if "field larger than field limit" in str(error):
            raise ValidationError(_("A cell of the CSV file is longer than %(kb)s KB; no cell may be that long.")
                                  % {"kb": csv.field_size_limit() // 1024}, code="csv_cell") from None
        raise ValidationError(_("The CSV file cannot be read: %(error)s.") % {"error": error}, code="csv") from None


# ---------------------------------------------------------------- validating


def parse_amount(text: str):
    """400000000 · 400.000.000 · 400.000.000,00 · Rp400.000.000,00 · 400000000.50 → Decimal, else None."""
    s = text.replace("Rp", "").replace("rp", "").replace(" ", "").strip().rstrip(".")
    if not s:
        return None
    if "," in s:
        s = s.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
        s = s.replace(".", "")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", s):
        raise ValueError(text)
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(text) from None
    if value >= Decimal("1e16"):
        raise ValueError(text)
    return value


def _choice(value: str, choices) -> str | None:
    """Match a TextChoices value or its label in Indonesian or English (what Ekspor writes in either language),
    case-insensitive; None when unknown."""
    wanted = value.strip().lower().replace(" ", "_")
    for key, label in choices:
        names = {str(key).lower()}
        for language in ("id", "en"):
            with translation.override(language):
                names.add(str(label).lower().replace(" ", "_"))
        if wanted in names:
            return key
    return None


def _officer(value: str, users: dict):
    """An officer by username, or (as older exports wrote) by the full name when only one officer has it."""
    user = users.get(value.strip().lower())
    if user is None and value.strip():
        named = [u for u in users.values() if str(u).lower() == value.strip().lower()]
        user = named[0] if len(named) == 1 else None
    return user


def validate(records: list[dict]) -> list[Row]:
    users = {u.username.lower(): u for u in get_user_model().objects.filter(is_active=True,
                                                                            role__in=["admin", "petugas"])}
    rows = [Row(line=i + 2, data=record) for i, record in enumerate(records)]
    codes = [r.data.get("kode", "").upper() for r in rows if r.data.get("kode")]
    dpas = [r.data.get("dpa", "") for r in rows if r.data.get("dpa")]
    existing_codes = set(Grant.objects.filter(kode__in=codes).values_list("kode", flat=True))
    existing_dpas = set(Grant.objects.filter(dpa_number__in=dpas).values_list("dpa_number", flat=True))
    seen_codes, seen_dpas = {}, {}
    for row in rows:
        d, e, c = row.data, row.errors, row.clean
        c["lembaga"] = " ".join(d.get("lembaga", "").split())
        if not c["lembaga"]:
            e.append(_("The institution name is missing."))
        elif len(c["lembaga"]) > 255:
            e.append(_("The institution name is too long."))
        year = d.get("tahun", "")
        if not (year.isdigit() and 2000 <= int(year) <= 2100):
            e.append(_("Fiscal year “%(value)s” is not a year between 2000 and 2100.") % {"value": year})
        else:
            c["tahun"] = int(year)
        for key, required in (("nominal_usulan", True), ("nominal_rekomendasi", False),
                              ("nominal_disetujui", False)):
            raw = d.get(key, "")
            try:
                c[key] = parse_amount(raw)
            except ValueError:
                e.append(_("“%(value)s” in column %(column)s is not an amount.") % {"value": raw, "column": key})
                continue
            if required and c[key] is None:
                e.append(_("The amount requested is missing."))
        kode = d.get("kode", "").strip().upper()
        if kode:
            if not KODE_RE.match(kode):
                e.append(_("Process code “%(value)s” is not of the form 2018-HK-00005.") % {"value": kode})
            elif kode in existing_codes:
                e.append(_("Process code %(value)s already exists.") % {"value": kode})
            elif kode in seen_codes:
                e.append(_("Process code %(value)s appears twice in the file (row %(row)s).")
                         % {"value": kode, "row": seen_codes[kode]})
            seen_codes.setdefault(kode, row.line)
        c["kode"] = kode
        dpa = d.get("dpa", "").strip()
        if dpa:
            if dpa in existing_dpas:
                e.append(_("DPA number %(value)s already exists.") % {"value": dpa})
            elif dpa in seen_dpas:
                e.append(_("DPA number %(value)s appears twice in the file (row %(row)s).")
                         % {"value": dpa, "row": seen_dpas[dpa]})
            seen_dpas.setdefault(dpa, row.line)
        c["dpa"] = dpa[:40]
        jenis = d.get("jenis", "")
        c["jenis"] = _choice(jenis, Grant.Jenis.choices) if jenis else Grant.Jenis.HK
        if c["jenis"] is None:
            e.append(_("Unknown type “%(value)s”.") % {"value": jenis})
        status = d.get("status", "")
        c["status"] = _choice(status, Grant.Status.choices) if status else Grant.Status.USULAN_DITERIMA
        if c["status"] is None:
            e.append(_("Unknown status “%(value)s”.") % {"value": status})
        category = d.get("kategori", "")
        c["kategori"] = _choice(category, Institution.Category.choices) if category else Institution.Category.LAINNYA
        if c["kategori"] is None:
            e.append(_("Unknown category “%(value)s”.") % {"value": category})
        rec = d.get("rekomendasi", "")
        c["rekomendasi"] = _choice(rec, Grant.Rekomendasi.choices) if rec else Grant.Rekomendasi.REGULER
        if c["rekomendasi"] is None:
            e.append(_("Unknown recommendation “%(value)s”.") % {"value": rec})
        username = d.get("petugas", "").strip().lower()
        c["petugas"] = _officer(username, users) if username else None
        if username and c["petugas"] is None:
            e.append(_("No active officer with the username “%(value)s”.") % {"value": username})
        phone, person = d.get("telepon", ""), " ".join(d.get("kontak_person", "").split())
        c["kontak_person"], c["telepon"] = person, ""
        if phone:
            try:
                c["telepon"] = parse_contact_number(phone, "ID")
            except ValidationError as error:
                e.append(_("Phone number “%(value)s”: %(error)s") % {"value": phone, "error": " ".join(error.messages)})
            if not person:
                e.append(_("A phone number needs a contact person."))
        elif person:
            e.append(_("The contact person needs a phone number."))
    return rows


# ---------------------------------------------------------------- staging and confirming


def staging_dir() -> Path:
    """This instance's own folder for staged imports (``IMPORT_STAGING_DIR``, by default ``var/import-staging``)."""
    configured = getattr(settings, "IMPORT_STAGING_DIR", None)
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "import-staging"


def purge_staging(*, max_age: datetime.timedelta = STAGING_MAX_AGE, now: float | None = None) -> int:
    """Remove staged files older than ``max_age`` (a day): imports nobody confirmed or cancelled. Called at each
    new staging; a daily job can call it too. Returns how many files were removed."""
    folder = staging_dir()
    if not folder.is_dir():
        return 0
    limit = (time.time() if now is None else now) - max_age.total_seconds()
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= limit:
                    continue
                os.unlink(entry.path)
                removed += 1
            except FileNotFoundError:  # removed meanwhile (a confirm, another purge)
                continue
    return removed


def stage_upload(upload, *, user) -> tuple[str, Preview]:
    """Validate an uploaded file and keep it for confirmation; returns (token, preview). The file is kept in
    this instance's staging folder under a random name, readable by this user only."""
    if upload.size > MAX_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."), code="size")
    content = upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."), code="size")
    filename = Path(upload.name).name
    preview = Preview(filename=filename, rows=validate(_read(content, filename)))
    token = secrets.token_urlsafe(24)
    folder = staging_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    purge_staging()
    if not preview.ok:
        return token, preview  # nothing to confirm: nothing kept
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    descriptor = os.open(folder / f"{token}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as staged:
        staged.write(content)
    return token, preview


def _expired() -> ValidationError:
    return ValidationError(_("The import has expired; upload the file again."), code="token")


def _staged(token: str) -> Path:
    if not _TOKEN_RE.match(token or ""):
        raise _expired()
    for suffix in (".xlsx", ".csv"):
        path = staging_dir() / f"{token}{suffix}"
        if path.is_file():
            return path
    raise _expired()


def cancel(token: str) -> bool:
    """Remove a staged import (the preview's Cancel, or a new upload replacing it); True when one was removed."""
    try:
        path = _staged(token)
    except ValidationError:
        return False
    path.unlink(missing_ok=True)
    return True


def confirm(token: str, *, user) -> dict:
    """Write every row in one transaction; refuse (writing nothing) when any row has an error. The staged file
    is taken first (renamed: a second confirmation of the same import finds nothing) and removed in every case."""
    path = _staged(token)
    claimed = path.with_name(f"{path.stem}.{secrets.token_hex(8)}.claimed{path.suffix}")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        raise _expired() from None
    try:
        if time.time() - claimed.stat().st_mtime > STAGING_MAX_AGE.total_seconds():
            raise _expired()
        rows = validate(_read(claimed.read_bytes(), claimed.name))
        if not rows or any(r.errors for r in rows):
            raise ValidationError(_("The file has errors; nothing was imported."), code="errors")
        return write(rows, user=user)
    finally:
        claimed.unlink(missing_ok=True)


@transaction.atomic
def write(rows: list[Row], *, user) -> dict:
    summary = {"institutions": 0, "contacts": 0, "grants": 0}
    cache: dict[tuple[str, str], Institution] = {}
    for row in rows:
        c, d = row.clean, row.data
        key = (search_key(c["lembaga"]), d.get("kabupaten", "").strip())
        institution = cache.get(key) or Institution.objects.filter(name_search=key[0], regency=key[1]).first()
        if institution is None:
            institution = services.institution_create(
                by=user, name=c["lembaga"], regency=key[1], category=c["kategori"], address=d.get("alamat", ""),
                npwp=d.get("npwp", "")[:30], bank_name=d.get("bank", "")[:100],
                account_number=d.get("rekening", "")[:40], chair=d.get("ketua", "")[:150])
            summary["institutions"] += 1
        cache[key] = institution
        if c["telepon"] and institution.contact_phone != c["telepon"]:
            services.contact_set(institution=institution, person=c["kontak_person"], phone=c["telepon"], by=user)
            summary["contacts"] += 1
        services.grant_create(
            institution=institution, fiscal_year=c["tahun"], jenis=c["jenis"], kode=c["kode"],
            amount_requested=c["nominal_usulan"], amount_recommended=c["nominal_rekomendasi"],
            amount_approved=c["nominal_disetujui"], purpose=d.get("peruntukan", "")[:500], by=user,
            petugas=c["petugas"], dpa_number=c["dpa"], status=c["status"], recommendation=c["rekomendasi"])
        summary["grants"] += 1
    return summary
