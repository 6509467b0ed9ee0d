"""Issue 13, finding 9 (import staging): files wait in the instance's own folder under var/ (not a fixed folder
of the system's temporary directory shared by every instance), under random names, readable by the owner only,
and are removed after confirm, cancel, a new upload, or a day (``imports.purge_staging()``)."""

import os
import stat
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from abah.grants import imports
from abah.grants.models import Grant

pytestmark = pytest.mark.django_db
UPLOAD = reverse("grants:import_upload")
CONFIRM = reverse("grants:import_confirm")
CANCEL = reverse("grants:import_cancel")
GOOD = "lembaga;kabupaten;tahun;nominal_usulan\nYayasan Darul Ulum;Kota Malang;2018;75.000.000\n"
BAD = "lembaga;kabupaten;tahun;nominal_usulan\nYayasan Darul Ulum;Kota Malang;20x8;abc\n"


@pytest.fixture
def staging(settings, tmp_path):
    settings.IMPORT_STAGING_DIR = tmp_path / "var" / "import-staging"
    return settings.IMPORT_STAGING_DIR


def _upload(client, text=GOOD, name="hibah.csv"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, text.encode())})


def _files(folder: Path):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_default_folder_is_the_instance_var():
    # The instance's own folder (not a fixed folder under the system's temporary directory, shared by every
    # instance on the machine), wherever the instance itself lives.
    assert imports.staging_dir() == Path(django_settings.BASE_DIR) / "var" / "import-staging"
    assert imports.staging_dir() != Path(tempfile.gettempdir()) / "abah-grants-import"


def test_staged_in_the_instance_folder_private_and_removed_after_confirm(admin_client, staging):
    _upload(admin_client)
    token = admin_client.session["grants_import"]
    names = _files(staging)
    assert names == [f"{token}.csv"] and len(token) >= 32  # random name, not the upload's
    assert stat.S_IMODE(staging.stat().st_mode) == 0o700
    assert stat.S_IMODE((staging / names[0]).stat().st_mode) == 0o600
    assert admin_client.post(CONFIRM, {"token": token}).status_code == 302
    assert Grant.objects.count() == 1 and _files(staging) == []
    # Confirming again finds nothing: one import, once.
    admin_client.post(CONFIRM, {"token": token})
    assert Grant.objects.count() == 1


def test_cancel_removes_the_file(admin_client, staging):
    html = _upload(admin_client).content.decode()
    assert 'data-testid="import-cancel"' in html and f'formaction="{CANCEL}"' in html
    assert len(_files(staging)) == 1
    response = admin_client.post(CANCEL, follow=True)
    assert "Impor dibatalkan; tidak ada yang ditulis." in response.content.decode()
    assert _files(staging) == [] and "grants_import" not in admin_client.session and not Grant.objects.exists()


def test_cancel_is_admin_only(petugas_client, staging):
    assert petugas_client.post(CANCEL).status_code == 403


def test_cancel_is_post_only(admin_client, staging):
    _upload(admin_client)
    assert admin_client.get(CANCEL).status_code == 405 and len(_files(staging)) == 1


def test_a_new_upload_replaces_the_waiting_one(admin_client, staging):
    _upload(admin_client)
    first = admin_client.session["grants_import"]
    _upload(admin_client)
    second = admin_client.session["grants_import"]
    assert first != second and _files(staging) == [f"{second}.csv"]


def test_a_file_with_errors_is_not_kept(admin_client, staging):
    html = _upload(admin_client, BAD).content.decode()
    assert 'data-testid="import-errors"' in html and _files(staging) == []
    _upload(admin_client)  # while a valid file is kept there
    assert _files(staging) == [f"{admin_client.session['grants_import']}.csv"]


def test_failed_confirmation_removes_the_file(admin_client, staging):
    _upload(admin_client)
    token = admin_client.session["grants_import"]
    # Between preview and confirmation the rows stopped being valid (here: the staged file is changed).
    (staging / f"{token}.csv").write_text(BAD)
    response = admin_client.post(CONFIRM, {"token": token}, follow=True)
    assert "tidak ada data yang diimpor" in response.content.decode()
    assert _files(staging) == [] and not Grant.objects.exists()


def test_files_older_than_a_day_are_purged(admin_client, staging):
    staging.mkdir(parents=True)
    old = staging / "lama.csv"
    old.write_text(GOOD)
    day_and_a_bit = time.time() - 25 * 3600
    os.utime(old, (day_and_a_bit, day_and_a_bit))
    fresh = staging / "baru.csv"
    fresh.write_text(GOOD)
    _upload(admin_client)  # each new staging purges
    token = admin_client.session["grants_import"]
    assert _files(staging) == sorted(["baru.csv", f"{token}.csv"])
    # The function a daily job calls: what is older than a day goes, and it says how many.
    assert imports.purge_staging() == 0
    assert imports.purge_staging(now=time.time() + 25 * 3600) == 2 and _files(staging) == []


def test_purge_without_a_folder_and_an_old_token_expires(admin_client, staging):
    assert imports.purge_staging() == 0
    _upload(admin_client)
    token = admin_client.session["grants_import"]
    path = staging / f"{token}.csv"
    two_days = time.time() - 48 * 3600
    os.utime(path, (two_days, two_days))
    response = admin_client.post(CONFIRM, {"token": token}, follow=True)
    assert "Impor sudah kedaluwarsa" in response.content.decode()
    assert not Grant.objects.exists() and _files(staging) == []
