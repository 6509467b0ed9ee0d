"""Checks on an uploaded .xlsx before openpyxl loads it: an .xlsx is a zip of XML files, and a small one can
declare enormous work (a 1.7 KB file declaring ``A1:XFD1048576`` costs openpyxl about 630 MB, a 677 KB
shared-strings table about 410 MB).

``check_xlsx`` reads the zip's directory (member count, uncompressed sizes, compression ratios), then streams
every XML part through expat in small pieces, building no tree: the declared ``<dimension ref=…>``,
every row number and cell reference, the number of cells in a row, and the number of shared strings. It raises
``ValidationError`` with a clear message as soon as a limit is passed. Python's zipfile stops reading a member
at its declared size, so the sizes checked here bound what openpyxl reads afterwards.
"""

import io
import re
import zipfile
from dataclasses import dataclass
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_rows: int = 20_000
    max_columns: int = 100
    max_members: int = 200
    max_uncompressed: int = 50 * 1024 * 1024  # all members together
    max_part: int = 10 * 1024 * 1024  # one XML part other than a worksheet or the shared strings
    max_ratio: int = 200  # uncompressed / compressed, per member above 1 MB uncompressed
    max_shared_strings: int = 200_000


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - 64)
    return number


def _parse_ref(ref: str) -> tuple[int, int] | None:
    """(row, column) of "B12" / "$B$12", else None."""
    match = _REF.match(ref.strip().upper())
    if not match:
        return None
    return int(match.group(2)), column_number(match.group(1))


def _invalid() -> ValidationError:
    return ValidationError(_("The file is not a valid .xlsx workbook."), code="xlsx")


def _too_big(limits: Limits) -> ValidationError:
    return ValidationError(
        _("The workbook is too large once unpacked (at most %(size)s MB).")
        % {"size": limits.max_uncompressed // (1024 * 1024)}, code="xlsx_size")


def _too_many_cells(limits: Limits) -> ValidationError:
    return ValidationError(
        _("The sheet is larger than %(rows)s rows or %(columns)s columns; an import holds at most that.")
        % {"rows": f"{limits.max_rows:,}".replace(",", "."), "columns": limits.max_columns}, code="xlsx_dimension")


def _too_many_strings(limits: Limits) -> ValidationError:
    return ValidationError(
        _("The workbook holds more than %(count)s different texts; an import holds at most that.")
        % {"count": f"{limits.max_shared_strings:,}".replace(",", ".")}, code="xlsx_strings")


def _check_directory(archive: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise ValidationError(_("The workbook has too many parts (at most %(max)s).") % {"max": limits.max_members},
                              code="xlsx_members")
    total = 0
    for info in members:
        if info.flag_bits & 0x1:
            raise ValidationError(_("The workbook is encrypted; save it without a password."), code="xlsx_encrypted")
        total += info.file_size
        if total > limits.max_uncompressed:
            raise _too_big(limits)
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _too_big(limits)
    return members


class _Scanner:
    """Checks the elements of one XML part as expat reports them."""

    def __init__(self, limits: Limits, kind: str):
        self.limits, self.kind = limits, kind
        self.row, self.cells_in_row, self.strings = 0, 0, 0

    def start(self, tag: str, element: dict) -> None:
        if self.kind == "shared":
            if tag == f"{MAIN_NS}sst":
                for name in ("count", "uniqueCount"):
                    value = element.get(name, "0")
                    if value.isdigit() and int(value) > self.limits.max_shared_strings:
                        raise _too_many_strings(self.limits)
            elif tag == f"{MAIN_NS}si":
                self.strings += 1
                if self.strings > self.limits.max_shared_strings:
                    raise _too_many_strings(self.limits)
            return
        if tag == f"{MAIN_NS}dimension":
            ref = element.get("ref", "")
            for part in ref.split(":")[:2]:
                position = _parse_ref(part)
                if position is not None and (position[0] > self.limits.max_rows
                                             or position[1] > self.limits.max_columns):
                    raise _too_many_cells(self.limits)
        elif tag == f"{MAIN_NS}row":
            number = element.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            self.cells_in_row = 0
            if self.row > self.limits.max_rows:
                raise _too_many_cells(self.limits)
        elif tag == f"{MAIN_NS}c":
            self.cells_in_row += 1
            position = _parse_ref(element.get("r", "")) if element.get("r") else None
            if self.cells_in_row > self.limits.max_columns or (
                    position is not None and (position[0] > self.limits.max_rows
                                              or position[1] > self.limits.max_columns)):
                raise _too_many_cells(self.limits)


def _refuse_doctype(*_args) -> None:
    raise _invalid()  # an .xlsx part has no DTD; entities are how XML bombs grow


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    name = info.filename.lower()
    kind = "shared" if name.endswith("sharedstrings.xml") else "sheet"
    if kind == "sheet" and not name.startswith("xl/worksheets/") and info.file_size > limits.max_part:
        raise _too_big(limits)
    scanner = _Scanner(limits, kind)
    # expat's callbacks with no tree built: memory stays constant whatever the part holds.
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = lambda tag, attributes: scanner.start("{" + tag if "}" in tag else tag, attributes)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


def check_xlsx(content: bytes, limits: Limits | None = None) -> None:
    """Raise ValidationError when ``content`` is not a zip, or declares or holds more than ``limits`` allow."""
    limits = limits or Limits()
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for info in _check_directory(archive, limits):
                if info.filename.lower().endswith((".xml", ".rels")) and not info.is_dir():
                    _scan(archive, info, limits)
    except ValidationError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, expat.ExpatError, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError):
        raise _invalid() from None
