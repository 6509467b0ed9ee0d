"""The status page shows every gateway: its routes, SMPP bind state from the workers' heartbeats, and the
Gammu modems' heartbeat and signal from gammu-smsd's `phones` table; checked against real peers."""

import pytest
from django.urls import reverse

from abah.sms.daemon import Daemon
from tests.conftest import browser_login, make_user, screenshot

from .peers.fixtures import SmscPeer, require_gammu, smpp_gateway  # noqa: F401 (fixture)
from .test_routing import modem  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "rahasia-status-91"


@pytest.fixture
def three_gateways(tmp_path, settings, monkeypatch, modem):  # noqa: F811
    """a: an SMSC with its worker bound; b: an SMSC that is down (its worker cannot bind); modem: gammu-smsd."""
    monkeypatch.setenv("ABAH_TEST_SMPP_PASSWORD", PASSWORD)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    smsc_a, smsc_b = SmscPeer(tmp_path / "a").start(), SmscPeer(tmp_path / "b")
    settings.SMS_GATEWAYS = {
        "aggregator": smpp_gateway(smsc_a, connect_wait=1),
        "backup": smpp_gateway(smsc_b, connect_wait=0.2),  # never started: connection refused
        "modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend", "OPTIONS": modem.options()},
    }
    settings.SMS_ROUTES = {"code": ["aggregator", "backup"], "broadcast": ["modem", "aggregator"],
                           "*": ["aggregator", "modem"]}
    workers = [Daemon(gateway=name, interval=0.05) for name in ("aggregator", "backup", "modem")]
    try:
        for worker in workers:
            worker.backend.open() if worker.gateway != "backup" else None
            worker.heartbeat(force=True)
        yield workers
    finally:
        for worker in workers:
            worker.backend.close()
        smsc_a.stop()


def test_status_page_shows_every_gateway(three_gateways, admin_client):
    body = admin_client.get(reverse("sms:status")).content.decode()
    assert 'data-gateway="aggregator" data-state="up"' in body
    assert 'data-gateway="backup" data-state="down"' in body
    assert 'data-gateway="modem" data-state="up"' in body
    assert "Terikat sebagai transceiver" in body  # the SMPP bind state
    assert "connection failed" in body or "refused" in body  # why backup is down, in words
    assert "dummy1" in body and "detak masih baru" in body and "sinyal" in body  # the modem's heartbeat
    assert "2 dari 3 gateway aktif" in body and "0 di outbox modem" in body
    assert PASSWORD not in body


@pytest.mark.browser
def test_status_page_in_the_browser(three_gateways, page):
    make_user("admin", role="admin", first_name="Siti")
    browser_login(page, "admin")
    page.wait_for_selector("text=Selamat datang, Siti")
    page.goto(page.base_url + reverse("sms:status"))
    page.wait_for_selector("[data-testid=gateways]")
    table = page.locator("[data-testid=gateways]")
    assert table.locator("tr[data-gateway]").count() == 3
    assert "dummy1" in table.inner_text()
    screenshot(page, "sms-status-gateways")
