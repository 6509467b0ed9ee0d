"""Issue 13, finding 6 (images): an avatar is refused above a pixel limit before it is decoded, and re-encoded.

The bombs are built by hand (a PNG header declaring the size, rows of zeros compressed as a stream), so the test
itself never holds the decoded image. Peak memory is measured in a subprocess (VmHWM, reset before the call) and printed; the
bound asserted is generous (100 MB over the process's size before the call) so that it cannot flake.
"""

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image, PngImagePlugin

from abah.accounts import services

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int, rows: int | None = None) -> bytes:
    """An 8-bit greyscale PNG of width × height black pixels, a few KB long (with ``rows``, only that many rows
    of pixel data: a header that declares the size, the rest cut short)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte 0, then the pixels
    data = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def _upload(data: bytes, name="a.png"):
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


@pytest.fixture(scope="module")
def bomb_80mp():
    return png_bomb(10_000, 8_000)  # 80 megapixels, about 10 KB


@pytest.mark.parametrize("size", [(10_000, 8_000), (7_100, 7_100), (4_097, 4_096), (1, 20_000_000)])
def test_image_above_the_pixel_limit_is_refused(petugas_client, petugas, size):
    data = png_bomb(*size, rows=None if size[1] < 100_000 else 10)
    assert len(data) < 200_000
    response = petugas_client.post(reverse("accounts:profile_avatar"), {"avatar": _upload(data)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Gambar ini terlalu banyak pikselnya (paling banyak 16 megapiksel)." in html
    petugas.refresh_from_db()
    assert not petugas.avatar


def test_image_at_the_limit_is_accepted_and_reencoded(petugas_client, petugas):
    data = png_bomb(4096, 4096)
    response = petugas_client.post(reverse("accounts:profile_avatar"), {"avatar": _upload(data)})
    assert response.status_code == 302
    petugas.refresh_from_db()
    with Image.open(petugas.avatar.path) as stored:
        assert stored.format == "PNG" and stored.size == (256, 256)


def test_metadata_is_not_kept(petugas_client, petugas):
    """EXIF (a GPS position, a camera serial), an ICC profile and PNG text chunks do not reach the stored file."""
    buffer = io.BytesIO()
    image = Image.new("RGB", (640, 480), (200, 30, 30))
    exif = image.getexif()
    exif[0x010F] = "KameraRahasia"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(buffer, format="JPEG", exif=exif, icc_profile=icc)
    response = petugas_client.post(reverse("accounts:profile_avatar"), {"avatar": _upload(buffer.getvalue(), "a.jpg")})
    assert response.status_code == 302
    petugas.refresh_from_db()
    stored_bytes = Path(petugas.avatar.path).read_bytes()
    assert b"KameraRahasia" not in stored_bytes and b"SERIAL-12345" not in stored_bytes
    with Image.open(petugas.avatar.path) as stored:
        assert "icc_profile" not in stored.info and "exif" not in stored.info

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "alamat rumah: Jl. Rahasia 7")
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(buffer, format="PNG", pnginfo=info, icc_profile=icc)
    response = petugas_client.post(reverse("accounts:profile_avatar"), {"avatar": _upload(buffer.getvalue())})
    assert response.status_code == 302
    petugas.refresh_from_db()
    stored_bytes = Path(petugas.avatar.path).read_bytes()
    assert b"Rahasia" not in stored_bytes and b"iCCP" not in stored_bytes


_MEASURE = """
import json, sys
import django
django.setup()
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from abah.accounts.services import avatar_process
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
    avatar_process(SimpleUploadedFile("a.png", data))
    outcome = "accepted"
except ValidationError as error:
    outcome = " ".join(error.messages)
after = peak_kb()
print(json.dumps({"outcome": outcome, "grew_kb": after - before, "peak_kb": after}))
"""


def test_bomb_is_refused_cheaply(bomb_80mp, tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_80mp)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", "LANGUAGE_CODE": "en"}
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"80-megapixel PNG of {len(bomb_80mp)} bytes: {figures}")
    assert "too many pixels" in figures["outcome"] or "piksel" in figures["outcome"]
    assert figures["grew_kb"] < 100 * 1024


_OPEN = """
import io, sys
import django
django.setup()
import abah.accounts.services  # sets Pillow's limit and makes its warning an error
from PIL import Image
try:
    Image.open(io.BytesIO(open(sys.argv[1], "rb").read()))
    print("opened")
except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
    print("refused", type(error).__name__)
"""


def test_pillow_refuses_by_itself_above_the_limit(tmp_path):
    """Pillow's limit is the avatar limit and its warning is an error: wherever the site opens an image above
    the limit (in a process configured as the site's, not under pytest's own warning filters), Pillow raises."""
    assert Image.MAX_IMAGE_PIXELS == services.AVATAR_MAX_PIXELS
    path = tmp_path / "b.png"
    path.write_bytes(png_bomb(4097, 4097, rows=1))  # above the limit, below twice the limit (only a warning)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    result = subprocess.run([sys.executable, "-c", _OPEN, str(path)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.split() == ["refused", "DecompressionBombWarning"], result.stderr
