"""In Debian's Chromium: an import's preview is cancelled (the staged file is removed at once), and an avatar of
too many pixels is refused with its Indonesian message; screenshots at 1366 px and 390 px."""

import struct
import zlib

import pytest

from abah.grants.models import Grant
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CSV = "lembaga;kabupaten;tahun;nominal_usulan\nYayasan Darul Ulum;Kota Malang;2018;75.000.000\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header(width: int, height: int) -> bytes:
    idat = zlib.compress(b"\x00" * (width + 1))  # one row: the rest is never read
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def test_import_preview_cancel(page, settings, tmp_path):
    settings.IMPORT_STAGING_DIR = tmp_path / "staging"
    make_user("admin", role="admin", first_name="Siti")
    browser_login(page, "admin")
    page.wait_for_selector("text=Selamat datang, Siti")
    for width, name in ((1366, "1366"), (390, "390")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(page.base_url + "/hibah/impor/")
        page.set_input_files("input[type=file]", files=[{"name": "hibah.csv", "mimeType": "text/csv",
                                                          "buffer": CSV.encode()}])
        page.locator("form[enctype='multipart/form-data'] button[type=submit]").first.click()
        page.wait_for_selector("[data-testid=import-ok]")
        assert len(list(settings.IMPORT_STAGING_DIR.iterdir())) == 1
        button = page.locator("[data-testid=import-cancel]")
        assert button.is_visible() and page.locator("[data-testid=import-confirm]").is_visible()
        screenshot(page, f"import-cancel-01-preview-{name}")
        button.click()
        page.wait_for_selector("text=Impor dibatalkan; tidak ada yang ditulis.")
        screenshot(page, f"import-cancel-02-cancelled-{name}")
        assert list(settings.IMPORT_STAGING_DIR.iterdir()) == [] and not Grant.objects.exists()


def test_avatar_with_too_many_pixels(page):
    make_user("budi", role="petugas", first_name="Budi")
    browser_login(page, "budi")
    page.wait_for_selector("text=Selamat datang, Budi")
    for width, name in ((1366, "1366"), (390, "390")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(page.base_url + "/akun/profil/avatar/")
        page.set_input_files("input[type=file]", files=[{"name": "bom.png", "mimeType": "image/png",
                                                          "buffer": _png_header(10_000, 8_000)}])
        page.locator("form[enctype='multipart/form-data'] button[type=submit]").first.click()
        page.wait_for_selector("text=Gambar ini terlalu banyak pikselnya (paling banyak 16 megapiksel).")
        screenshot(page, f"avatar-pixels-{name}")
