"""The status page (Admin): workers with a stale heartbeat are stopped, not green; their last error; the processes
manage.py serve supervises, with restarts and the last error (first line, the whole traceback in a <details>).
Also on screen at 390 px and 1366 px (Playwright on Debian's Chromium)."""

import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from abah.core.formatting import WIB
from abah.sms import conf
from abah.sms.models import ServiceProcess, WorkerHeartbeat
from tests.conftest import browser_login, make_user, screenshot

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
TRACEBACK = """smsd exited with code 1: RuntimeError: the gateway library broke

Traceback (most recent call last):
  File "/srv/abah/manage.py", line 16, in <module>
    main()
  File "/srv/abah/abah/sms/daemon.py", line 148, in run
    self.backend.open()
RuntimeError: the gateway library broke"""
FAILED_AT = datetime(2026, 11, 30, 5, 53, 19, tzinfo=WIB)  # 30 November 2026 05:53:19 WIB


def heartbeat(worker, *, age, state="running", **extra):
    now = timezone.now()
    return WorkerHeartbeat.objects.create(worker=worker, gateway="default", hostname="sms1", pid=4242,
                                          started_at=now - timedelta(hours=1), seen_at=now - timedelta(seconds=age),
                                          state=state, **extra)


def processes():
    now = timezone.now()
    ServiceProcess.objects.create(name="web", hostname="sms1", pid=101, state="running", started_at=now)
    ServiceProcess.objects.create(name="smsd", hostname="sms1", pid=None, state="restarting", restarts=3,
                                  last_exit_code=1, last_error=TRACEBACK, last_error_at=FAILED_AT, updated_at=now)
    ServiceProcess.objects.create(name="tasks", hostname="sms1", pid=None, state="stopped", restarts=0,
                                  last_exit_code=-9, last_error="tasks killed by SIGKILL", last_error_at=FAILED_AT)


def row(body, attribute, value):
    match = re.search(rf'<tr {attribute}="{re.escape(value)}"[^>]*>.*?</tr>', body, re.S)
    assert match, f"no row {attribute}={value}"
    return match.group(0)


def test_stale_and_stopped_workers_are_grey_and_the_last_error_shows(admin_client):
    heartbeat("fresh", age=1, last_error="Database unavailable: OperationalError: server closed the connection",
              last_error_at=FAILED_AT)
    heartbeat("stale", age=conf.HEALTH_STALE_SECONDS + 2)  # killed: its last word said "running"
    heartbeat("stopped", age=1, state="stopped")
    body = admin_client.get(reverse("sms:status")).content.decode()
    fresh = row(body, "data-worker", "fresh")
    assert 'data-alive="yes"' in fresh and "text-success" in fresh and "Berhenti" not in fresh
    assert "Kesalahan terakhir: Database unavailable: OperationalError: server closed the connection" in fresh
    assert "30 November 2026 05:53:19 WIB" in fresh
    for name in ("stale", "stopped"):
        grey = row(body, "data-worker", name)
        assert 'data-alive="no"' in grey and "text-success" not in grey and "Berhenti" in grey
        assert "Kesalahan terakhir" not in grey
    assert "Terhubung" in body  # one live worker: the gateway card says so


def test_only_stale_workers_mean_no_worker_running(admin_client):
    heartbeat("stale", age=conf.HEALTH_STALE_SECONDS + 5)
    body = admin_client.get(reverse("sms:status")).content.decode()
    assert "Tidak ada worker yang berjalan" in body and "Terhubung" not in body


def test_processes_table(admin_client):
    processes()
    body = admin_client.get(reverse("sms:status")).content.decode()
    assert "<th>Proses</th>" in body and "Dimulai ulang" in body and "Mesin" in body
    smsd = row(body, "data-process", "smsd")
    assert 'data-state="restarting"' in smsd and "Sedang dimulai ulang" in smsd and ">3</td>" in smsd
    summary = re.search(r"<summary[^>]*>(.*?)</summary>", smsd, re.S).group(1)
    assert summary == "smsd exited with code 1: RuntimeError: the gateway library broke"  # the first line
    assert "File &quot;/srv/abah/abah/sms/daemon.py&quot;, line 148, in run" in smsd  # the whole text, escaped
    assert "30 November 2026 05:53:19 WIB" in smsd and "kode keluar 1" in smsd
    web = row(body, "data-process", "web")
    assert "Berjalan" in web and "pid 101" in web and "<details" not in web and "sejak" in web
    tasks = row(body, "data-process", "tasks")
    assert "Berhenti" in tasks and "tasks killed by SIGKILL" in tasks and "kode keluar -9" in tasks
    live = admin_client.get(reverse("sms:status"), **HX).content.decode()  # the 5-second refresh has it too
    assert 'data-process="smsd"' in live


def test_no_process_recorded_yet(admin_client):
    body = admin_client.get(reverse("sms:status")).content.decode()
    assert "Belum ada proses yang tercatat" in body


def test_english(admin_client):
    processes()
    heartbeat("stale", age=conf.HEALTH_STALE_SECONDS + 5)
    admin_client.cookies["abah_language"] = "en"
    body = admin_client.get(reverse("sms:status")).content.decode()
    assert "Processes" in body and "Restarting" in body and "exit code 1" in body and "Stopped" in body


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1366])
def test_status_page_on_screen(page, width):
    make_user("adminstatus", role="admin")
    processes()
    heartbeat("sms1:4242:abc123", age=1, last_error="Restarted after an error: RuntimeError: the gateway library "
              "broke", last_error_at=FAILED_AT)
    heartbeat("sms2:777:def456", age=conf.HEALTH_STALE_SECONDS + 60)
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, "adminstatus")
    page.goto(page.base_url + reverse("sms:status"))
    # The last error has a column on a wide screen, a row of its own under the process on a phone.
    where = 'tr[data-process="smsd"]' if width >= 768 else 'tr[data-process-error="smsd"]'
    details = page.locator(f"{where} details")
    assert not details.evaluate("d => d.open")
    details.locator("summary").click()
    assert details.evaluate("d => d.open")
    assert details.locator("pre").is_visible()
    # Nothing of the status page is wider than the screen: long tables scroll inside their cards.
    wide = page.evaluate("""() => [...document.querySelectorAll('#sms-live-inner *')]
        .filter(e => !e.closest('.table-responsive') || e.classList.contains('table-responsive'))
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => e.tagName + '.' + e.className)""")
    assert wide == []
    # The open traceback survives the page's own refresh (htmx every 5 s).
    with page.expect_response(lambda r: "status" in r.url and r.request.headers.get("hx-request") == "true",
                              timeout=15_000):
        pass
    page.wait_for_timeout(300)
    assert page.locator(f"{where} details").evaluate("d => d.open")
    assert page.locator('tr[data-worker="sms2:777:def456"] [data-testid="worker-stopped"]').is_visible()
    screenshot(page, f"sms-status-processes-{width}")
