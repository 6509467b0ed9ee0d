"""manage.py retention purges exactly what is past its period (an explicit ``now``), leaves the rest, says so."""

import datetime
import io
import os
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from abah import audit
from abah.audit import retention
from abah.audit.models import AuditEntry
from abah.core.formatting import WIB
from abah.core.runtime import worker_commands
from abah.notifications.models import Notification
from abah.sms.models import Message
from abah.verification.models import VerificationCode

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 12, 1, 2, 0, tzinfo=WIB)
S = Message.Status


@pytest.fixture(autouse=True)
def _staging(settings, tmp_path):
    """Staged imports in a folder of the test's own (never the instance's var/import-staging)."""
    settings.IMPORT_STAGING_DIR = str(tmp_path / "staging")
    return tmp_path / "staging"


def ago(**delta):
    return NOW - datetime.timedelta(**delta)


def message(text, created_at, *, status=S.DELIVERED, number="+6281230900095"):
    return Message.objects.create(number=number, text=text, status=status, direction=Message.Direction.OUT,
                                  created_at=created_at)


@pytest.fixture
def data(petugas):
    day = datetime.timedelta(days=1)
    five_years = datetime.datetime(2021, 12, 1, 2, 0, tzinfo=WIB)
    old = message("Selamat siang Bapak Nur Hidayat, dana hibah sudah cair", five_years - day)
    old_in = Message.objects.create(number="+6285730900003", text="Terima kasih, sudah kami terima",
                                    status=S.RECEIVED, direction=Message.Direction.IN, created_at=five_years - day)
    young = message("Undangan NPHD tanggal 30 November 2021", five_years + day)
    stuck = message("masih antre sejak lama", five_years - day, status=S.QUEUED)
    audit.record(petugas, "export", count=1161, at=five_years - day)
    audit.record(petugas, "search", detail="q=lptq", at=five_years + day)
    Notification.objects.create(user=petugas, kind="other", text="lama", updated_at=ago(days=366), is_read=True)
    Notification.objects.create(user=petugas, kind="other", text="baru", updated_at=ago(days=364))
    VerificationCode.objects.create(user=petugas, phone="+6281230900012", salt="s", code_hash="h",
                                    created_at=ago(days=31), expires_at=ago(days=31))
    VerificationCode.objects.create(user=petugas, phone="+6281230900012", salt="s", code_hash="h",
                                    created_at=ago(days=29), expires_at=ago(days=29))
    return {"old": old, "old_in": old_in, "young": young, "stuck": stuck}


def test_purges_exactly_what_is_past_its_period(data, petugas):
    out = io.StringIO()
    call_command("retention", now=NOW.isoformat(), stdout=out)
    assert out.getvalue().strip() == (
        "retention: messages 2, audit 1, notifications 1, codes 1, staging 0 removed")
    old, old_in, young, stuck = (Message.objects.get(pk=data[k].pk) for k in ("old", "old_in", "young", "stuck"))
    assert (old.text, old.number) == ("[dihapus: masa simpan habis]", "+62*****0095")
    assert (old_in.text, old_in.number) == ("[dihapus: masa simpan habis]", "+62*****0003")
    assert old.status == S.DELIVERED and old.created_at == data["old"].created_at  # the row and its facts stay
    assert (young.text, young.number) == ("Undangan NPHD tanggal 30 November 2021", "+6281230900095")
    assert (stuck.text, stuck.status) == ("masih antre sejak lama", S.QUEUED)  # not sent yet: left alone
    assert list(AuditEntry.objects.exclude(action="retention").values_list("detail", flat=True)) == ["q=lptq"]
    assert list(Notification.objects.values_list("text", flat=True)) == ["baru"]
    assert VerificationCode.objects.count() == 1 and VerificationCode.objects.get().created_at == ago(days=29)
    entry = AuditEntry.objects.get(action="retention")
    assert entry.at == NOW and entry.user is None and entry.count == 5
    assert entry.detail == "messages=2, audit=1, notifications=1, codes=1, staging=0"


def test_a_second_pass_removes_nothing_more(data):
    retention.run(now=NOW)
    assert retention.run(now=NOW) == dict.fromkeys(retention.KINDS, 0)
    assert AuditEntry.objects.filter(action="retention").count() == 2


def test_the_purged_text_is_no_longer_found(data, admin_client):
    retention.run(now=NOW)
    html = admin_client.get(reverse("sms:message_list"), {"q": "dana hibah sudah cair"}).content.decode()
    assert "dana hibah sudah cair" not in html.split("</form>")[-1]
    html = admin_client.get(reverse("sms:message_list"), {"q": "Undangan NPHD tanggal"}).content.decode()
    assert "Undangan NPHD tanggal 30 November 2021" in html


def test_periods_come_from_the_settings(data, settings):
    settings.ABAH_RETENTION_MESSAGE_YEARS = 4  # the young message (4 years 364 days) is now past its period too
    settings.ABAH_RETENTION_AUDIT_YEARS = 0  # 0: kept forever
    settings.ABAH_RETENTION_NOTIFICATION_DAYS = 0
    settings.ABAH_RETENTION_CODE_DAYS = 7
    counts = retention.run(now=NOW)
    assert counts == {"messages": 3, "audit": 0, "notifications": 0, "codes": 2, "staging": 0}
    assert Message.objects.get(pk=data["young"].pk).text == "[dihapus: masa simpan habis]"
    assert AuditEntry.objects.exclude(action="retention").count() == 2 and Notification.objects.count() == 2


def test_a_daily_background_process():
    assert ("retention", ["retention", "--loop", "--every", "86400"]) in worker_commands()


def test_loop_option_runs_bounded_passes(data):
    out = io.StringIO()
    call_command("retention", loop=True, every=0.01, max_passes=2, now=NOW.isoformat(), stdout=out)
    assert out.getvalue().count("retention:") == 2
    assert AuditEntry.objects.filter(action="retention").count() == 2


def test_staged_imports_left_for_a_day_are_removed(_staging):
    _staging.mkdir()
    old, new = _staging / "abandoned.xlsx", _staging / "in-progress.xlsx"
    for path in (old, new):
        path.write_bytes(b"PK")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert retention.run(now=NOW)["staging"] == 1
    assert not old.exists() and new.exists()
    assert AuditEntry.objects.get(action="retention").detail.endswith("staging=1")
