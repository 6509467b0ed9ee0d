"""The one .xlsx export helper: every export of the site writes its workbook through ``xlsx_response``.

Text is never a formula. openpyxl turns any string that starts with "=" into a formula cell, so a DPA number
typed as ``=HYPERLINK("http://evil.example","x")`` or an imported name ``=cmd|' /C calc'!A0`` would be a live
formula (or a DDE call) in the exported file. Here every text value is written as an explicit string cell
(``t="inlineStr"``), and a text that a spreadsheet would read as a formula when the cell is edited (it starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) also carries the ``quotePrefix`` style, the file
format's equivalent of a leading apostrophe. The text itself is kept as it is. Numbers, dates and times stay
typed values; aware datetimes are written in WIB.
"""

import datetime
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from abah.core.formatting import to_wib
from abah.core.text import clean_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What Excel and LibreOffice take as the start of a formula when the cell is typed or edited (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")
_FILENAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Sheet:
    title: str
    header: list
    rows: Iterable  # of sequences of values


def _title(value) -> str:
    title = _SHEET_TITLE_BAD.sub(" ", str(value)).strip().strip("'")[:31]
    return title or "Sheet"


def cell(sheet, value) -> WriteOnlyCell:
    """A write-only cell for ``value``: text as a string cell (never a formula), numbers and dates typed."""
    if value is None:
        return WriteOnlyCell(sheet, None)
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value)
    if isinstance(value, (int, float, Decimal)):
        return WriteOnlyCell(sheet, value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = to_wib(value).replace(tzinfo=None)
        return WriteOnlyCell(sheet, value)
    if isinstance(value, (datetime.date, datetime.time)):
        return WriteOnlyCell(sheet, value)
    # The one cleaning (NUL, controls, lone surrogates, U+FFFE/U+FFFF: characters XML cannot hold), then
    # openpyxl's own list of what it refuses.
    text = ILLEGAL_CHARACTERS_RE.sub("", clean_text(value))[:MAX_CELL_CHARS]
    result = WriteOnlyCell(sheet, None)
    # Bypass openpyxl's guessing (which makes "=…" a formula): the value is set as it is, typed as a string.
    result._value = text
    result.data_type = "s"
    if text.startswith(FORMULA_START):
        result.quotePrefix = True
    return result


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    """A workbook of ``sheets`` (write-only mode: rows are streamed, not kept)."""
    workbook = Workbook(write_only=True)
    for spec in sheets:
        sheet = workbook.create_sheet(_title(spec.title))
        sheet.append([cell(sheet, value) for value in spec.header])
        for row in spec.rows:
            sheet.append([cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, sheets: Iterable[Sheet]) -> HttpResponse:
    """An attachment ``filename`` (.xlsx) holding ``sheets``; the one way this site answers with a spreadsheet."""
    name = _FILENAME_BAD.sub("-", filename).strip("-.") or "export"
    if not name.lower().endswith(".xlsx"):
        name += ".xlsx"
    response = HttpResponse(xlsx_bytes(sheets), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
