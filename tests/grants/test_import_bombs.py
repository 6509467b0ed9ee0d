"""Issue 13, finding 6 (spreadsheets): an .xlsx is checked before openpyxl loads it (zip directory, declared
dimension, rows, cells, shared strings), and a bomb is refused cheaply with a clear message.

Peak memory is measured in a subprocess (VmHWM, reset before the call) and printed; the bound asserted is generous (100 MB over
the process's size before the call) so that it cannot flake.
"""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from abah.core.spreadsheets import Limits, check_xlsx
from abah.grants import imports
from abah.grants.models import Grant

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ["lembaga", "kabupaten", "tahun", "nominal_usulan"]
ROW = ["Masjid Al-Ikhlas Sukorejo", "Kabupaten Jember", 2018, "400000000"]


def workbook_bytes(rows=(ROW,)) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def rewrite(content: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None,
            level: int = 9) -> bytes:
    """The same workbook with some members replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def sheet_xml(dimension: str | None, rows: str) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}">{dim}'
            f"<sheetData>{rows}</sheetData></worksheet>").encode()


def _inline_row(r: int, values) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{r}">{cells}</row>'


GOOD_ROWS = _inline_row(1, HEADER) + _inline_row(2, ROW)


def dimension_bomb() -> bytes:
    """About 5 KB: two rows and one far down, declaring A1:XFD1048576 (openpyxl pads every row, the missing
    ones too, to 16,384 cells; 5,000 of them are read before the row limit refuses the file: about 650 MB)."""
    far = '<row r="1048576"><c r="A1048576"><v>1</v></c></row>'
    return rewrite(workbook_bytes(), {"xl/worksheets/sheet1.xml": sheet_xml("A1:XFD1048576", GOOD_ROWS + far)})


def shared_strings_bomb(count=1_000_000, declare=True) -> bytes:
    """A shared-strings table of ``count`` distinct short strings (openpyxl loads all of them at once)."""
    attrs = f' count="{count}" uniqueCount="{count}"' if declare else ""
    body = "".join(f"<si><t>{i:x}</t></si>" for i in range(count))
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}"{attrs}>{body}</sst>'.encode()
    return with_shared_strings(sst)


def with_shared_strings(sst: bytes) -> bytes:
    """The workbook with a shared-strings part declared in its content types (where openpyxl looks for it)."""
    content = workbook_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        types = archive.read("[Content_Types].xml").decode()
    override = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
    types = types.replace("</Types>", override + "</Types>")
    return rewrite(content, {"[Content_Types].xml": types.encode()}, {"xl/sharedStrings.xml": sst})


def _post(client, content: bytes):
    return client.post(reverse("grants:import_upload"), {"file": SimpleUploadedFile("hibah.xlsx", content)})


# ---------------------------------------------------------------- through the page


def test_dimension_bomb_is_refused_with_a_clear_message(admin_client):
    content = dimension_bomb()
    assert len(content) < 10_000
    html = _post(admin_client, content).content.decode()
    assert "Lembar kerja ini lebih besar dari 20.000 baris atau 100 kolom" in html
    assert "grants_import" not in admin_client.session and not Grant.objects.exists()


def test_shared_strings_bomb_is_refused_with_a_clear_message(admin_client):
    content = shared_strings_bomb()
    print(f"shared-strings bomb: {len(content)} bytes")
    html = _post(admin_client, content).content.decode()
    assert "lebih dari 200.000 teks yang berbeda" in html
    assert "grants_import" not in admin_client.session


def test_a_good_workbook_still_imports(admin_client):
    html = _post(admin_client, workbook_bytes()).content.decode()
    assert 'data-testid="import-ok"' in html


# ---------------------------------------------------------------- each check


def _refused(content: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        check_xlsx(content, limits)
    return caught.value.code


@pytest.mark.parametrize("dimension", ["A1:XFD1048576", "A1:CW20001", "A1:CX2", "XFD1048576"])
def test_declared_dimension_beyond_the_limits(dimension):
    content = rewrite(workbook_bytes(), {"xl/worksheets/sheet1.xml": sheet_xml(dimension, GOOD_ROWS)})
    assert _refused(content) == "xlsx_dimension"


def test_declared_dimension_within_the_limits_passes():
    check_xlsx(rewrite(workbook_bytes(), {"xl/worksheets/sheet1.xml": sheet_xml("A1:CV20000", GOOD_ROWS)}))


@pytest.mark.parametrize("rows", [
    '<row r="1048576"><c r="A1048576"><v>1</v></c></row>',  # a row far down, no dimension
    '<row r="1"><c r="XFD1"><v>1</v></c></row>',  # a cell far right
    '<row>' + '<c><v>1</v></c>' * 101 + '</row>',  # 101 cells without references
    '<row r="2"><c r="A30000"><v>1</v></c></row>',  # a cell's reference beyond the rows
])
def test_rows_and_cells_beyond_the_limits_without_a_dimension(rows):
    content = rewrite(workbook_bytes(), {"xl/worksheets/sheet1.xml": sheet_xml(None, rows)})
    assert _refused(content) == "xlsx_dimension"


def test_shared_strings_counted_even_when_not_declared():
    assert _refused(shared_strings_bomb(count=1001, declare=False), Limits(max_shared_strings=1000)) == "xlsx_strings"
    assert _refused(shared_strings_bomb(count=10, declare=True), Limits(max_shared_strings=5)) == "xlsx_strings"
    check_xlsx(shared_strings_bomb(count=1000, declare=False), Limits(max_shared_strings=1000))


def test_zip_directory_limits():
    many = {f"xl/media/x{i}.bin": b"" for i in range(201)}
    assert _refused(rewrite(workbook_bytes(), {}, many)) == "xlsx_members"
    zeros = {"xl/media/zeros.bin": b"\0" * (4 * 1024 * 1024)}  # 4 MB of zeros: ratio about 1000
    assert _refused(rewrite(workbook_bytes(), {}, zeros)) == "xlsx_size"
    big = {"xl/media/big.bin": os.urandom(3 * 1024 * 1024)}  # incompressible: only the total counts
    assert _refused(rewrite(workbook_bytes(), {}, big, level=0), Limits(max_uncompressed=2 * 1024 * 1024)) == "xlsx_size"


def test_entities_and_broken_files_are_invalid():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<sst xmlns="' + NS.encode() + b'"><si><t>&lol2;</t></si></sst>')
    assert _refused(with_shared_strings(laughs)) == "xlsx"
    assert _refused(b"PK\x03\x04 not a zip") == "xlsx"
    assert _refused(rewrite(workbook_bytes(), {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData>"})) == "xlsx"


def test_read_keeps_to_the_limits_even_when_a_sheet_declares_nothing():
    """openpyxl is asked for at most the limit's columns: a wide row is cut, never padded beyond it."""
    records = imports._read(workbook_bytes(), "hibah.xlsx")
    assert records[0]["lembaga"] == "Masjid Al-Ikhlas Sukorejo"


# ---------------------------------------------------------------- memory


_MEASURE = """
import json, sys
import django
django.setup()
from django.core.exceptions import ValidationError
from abah.grants import imports
data = open(sys.argv[1], "rb").read()
def peak_kb():  # the process's peak resident size (VmHWM), which clear_refs resets to the current size
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
try:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
except OSError:
    pass
before = peak_kb()
try:
    imports._read(data, "hibah.xlsx")
    outcome = "accepted"
except ValidationError as error:
    outcome = " ".join(error.messages)
after = peak_kb()
print(json.dumps({"outcome": outcome, "grew_kb": after - before, "peak_kb": after}))
"""


@pytest.mark.parametrize("name,build,expected", [
    ("dimension bomb", dimension_bomb, "20.000 baris"),
    ("shared-strings bomb", shared_strings_bomb, "200.000 teks"),
])
def test_bombs_are_refused_cheaply(tmp_path, name, build, expected):
    content = build()
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(content)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{name} of {len(content)} bytes: {figures}")
    assert expected in figures["outcome"]
    assert figures["grew_kb"] < 100 * 1024
