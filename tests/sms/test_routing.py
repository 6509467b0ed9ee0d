"""Several gateways: routing by message kind and fail-over, against two real SMSC peers (and a real modem).

A message goes to the first gateway of its route (SMS_ROUTES) that is up. A gateway whose link drops, or
whose worker stops beating, hands its kinds to the next one; what it may already have taken stays with it.
Each test counts, per peer, what it received: no message may reach two gateways.
"""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from abah.sms import conf, services
from abah.sms.daemon import Daemon
from abah.sms.models import Message, WorkerHeartbeat

from .peers.fixtures import SmscPeer, require_gammu, smpp_gateway  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)  # the worker acknowledges receipts on commit


@pytest.fixture
def peers(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("ABAH_TEST_SMPP_PASSWORD", "rahasia-uji")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = SmscPeer(tmp_path / "a").start()
    b = SmscPeer(tmp_path / "b").start()
    settings.SMS_GATEWAYS = {"a": smpp_gateway(a, connect_wait=1), "b": smpp_gateway(b, connect_wait=1)}
    settings.SMS_RETRY_BACKOFF = (0.05, 0.2)
    yield a, b
    a.stop()
    b.stop()


@contextmanager
def workers(*names, batch_size=20):
    daemons = [Daemon(gateway=name, batch_size=batch_size, interval=0.05) for name in names]
    try:
        for daemon in daemons:
            daemon.backend.open()
            daemon.heartbeat(force=True)  # what run() does first: the other workers route by it
        yield daemons
    finally:
        for daemon in daemons:
            daemon.backend.close()


def run_all(daemons, done, *, rounds=1500, pause=0.02):
    """Tick every worker in turn (a few batches each) until ``done()`` holds; bounded."""
    for _ in range(rounds):
        for daemon in daemons:
            daemon.tick()
        if done():
            return True
        time.sleep(pause)
    return False


def settled(messages):
    ids = [m.pk for m in messages]
    return lambda: not Message.objects.filter(pk__in=ids, status__in=Message.PENDING_STATUSES).exists()


def numbers(messages):
    return {m.number.removeprefix("+") for m in messages}


def test_routes_come_from_settings_and_unknown_gateways_are_refused(peers, settings):
    assert conf.route_for("code") == ["a", "b"]  # without SMS_ROUTES: every gateway, in configured order
    settings.SMS_ROUTES = {"code": ["b"], "*": ["a", "b"]}
    assert conf.route_for("code") == ["b"] and conf.route_for("broadcast") == ["a", "b"]
    settings.SMS_ROUTES = {"code": ["modem"]}
    with pytest.raises(ImproperlyConfigured, match="unknown gateway"):
        conf.routes()


def test_each_kind_goes_through_its_own_gateway(peers, settings):
    smsc_a, smsc_b = peers
    settings.SMS_ROUTES = {"code": ["a", "b"], "broadcast": ["b", "a"]}
    codes = services.queue_messages([{"to": f"+6281231{i:05d}", "text": f"Kode {i}", "kind": "code"} for i in range(15)])
    news = services.queue_messages([{"to": f"+6281232{i:05d}", "text": f"Siaran {i}", "kind": "broadcast"}
                                    for i in range(15)])
    with workers("a", "b") as daemons:
        assert run_all(daemons, settled(codes + news))
    assert set(Message.objects.filter(pk__in=[m.pk for m in codes]).values_list("status", "gateway")) == {("delivered", "a")}
    assert set(Message.objects.filter(pk__in=[m.pk for m in news]).values_list("status", "gateway")) == {("delivered", "b")}
    assert set(smsc_a.stats()["submits"]) == numbers(codes)
    assert set(smsc_b.stats()["submits"]) == numbers(news)


def test_a_gateway_that_goes_down_hands_its_traffic_over_and_nothing_is_sent_twice(peers, capsys):
    smsc_a, smsc_b = peers
    total = 600
    messages = services.queue_messages([{"to": f"+6281233{i:05d}", "text": f"Pesan {i}", "kind": "broadcast"}
                                        for i in range(total)])
    events = {}

    def crash_a_then_bring_it_back():
        for _ in range(20_000):  # bounded: ~40 s
            if sum(smsc_a.stats()["submits"].values()) >= total // 4:
                smsc_a.stop()  # SIGKILL, mid-batch: some submits may be in flight
                break
            time.sleep(0.002)
        b_before = sum(smsc_b.stats()["submits"].values())
        for _ in range(20_000):  # until b has clearly taken over
            if sum(smsc_b.stats()["submits"].values()) >= b_before + total // 4:
                break
            time.sleep(0.002)
        events["b_while_a_down"] = sum(smsc_b.stats()["submits"].values()) - b_before
        smsc_a.start()

    crasher = threading.Thread(target=crash_a_then_bring_it_back)
    with workers("a", "b") as daemons:
        crasher.start()
        try:
            assert run_all(daemons, settled(messages), rounds=3000)
        finally:
            crasher.join(timeout=90)
        in_flight = daemons[0].backend.stats["lost_in_flight"]
    via_a, via_b = smsc_a.stats()["submits"], smsc_b.stats()["submits"]
    both = set(via_a) & set(via_b)
    duplicates_a = sum(n - 1 for n in via_a.values() if n > 1)
    duplicates_b = sum(n - 1 for n in via_b.values() if n > 1)
    with capsys.disabled():
        print(f"\n[fail-over] {total} messages: {len(via_a)} via a, {len(via_b)} via b "
              f"({events.get('b_while_a_down')} while a was down), {len(both)} through both gateways, "
              f"{duplicates_a}+{duplicates_b} duplicate submits, {in_flight} unanswered in flight at the crash")
    assert events["b_while_a_down"] >= total // 4  # the traffic moved
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", flat=True)) == {"delivered"}
    assert set(via_a) | set(via_b) == numbers(messages)
    assert both == set()  # no message went through two gateways
    assert duplicates_b == 0
    assert duplicates_a <= in_flight  # only what a may have taken when it died, retried on a alone
    for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
        assert message.number.removeprefix("+") in (via_a if message.gateway == "a" else via_b)


def test_a_worker_that_stops_beating_hands_its_kinds_over_but_keeps_what_it_may_have_sent(peers, settings):
    smsc_a, smsc_b = peers
    settings.SMS_ROUTES = {"code": ["a", "b"]}
    [held] = services.queue_messages([{"to": "+628123400001", "text": "Kode 1", "kind": "code"}])
    with workers("a", "b") as (worker_a, worker_b):
        # a claims the message, then its process dies before it could say what the SMSC answered.
        assert [row[0] for row in worker_a.claim()] == [held.pk]
        WorkerHeartbeat.objects.filter(worker=worker_a.worker_id).update(seen_at=timezone.now() - timedelta(minutes=5))
        Message.objects.filter(pk=held.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        later = services.queue_messages([{"to": f"+62812340{i:04d}", "text": "Kode 2", "kind": "code"}
                                         for i in range(2, 12)])
        worker_b._others_at = -10  # read the heartbeats again now
        assert run_all([worker_b], settled(later))
        held.refresh_from_db()
        # Back in the queue, but only for a: it may have reached a's SMSC, so b must not send it too.
        assert (held.status, held.gateway) == (Message.Status.QUEUED, "a")
        assert set(smsc_b.stats()["submits"]) == numbers(later)
        assert set(Message.objects.filter(pk__in=[m.pk for m in later]).values_list("gateway", flat=True)) == {"b"}
        assert run_all([worker_a, worker_b], settled([held]))  # a is back: it sends what is pinned to it
    held.refresh_from_db()
    assert (held.status, held.gateway, held.attempts) == (Message.Status.DELIVERED, "a", 2)
    assert "628123400001" in smsc_a.stats()["submits"] and "628123400001" not in smsc_b.stats()["submits"]


@pytest.fixture
def modem(require_gammu, tmp_path):  # noqa: F811
    from tests import components

    from .peers.gammu_peer import GammuPeer

    engine = "postgresql" if components.database_url().startswith(("postgres://", "postgresql://")) else "sqlite"
    (tmp_path / "modem").mkdir()
    peer = GammuPeer(tmp_path / "modem", engine, components.database_url())
    peer.create_database()
    peer.start()
    yield peer
    peer.stop()
    peer.drop_database()


def test_codes_via_smpp_broadcasts_via_the_modem_until_its_heartbeat_is_lost(tmp_path, settings, monkeypatch, modem):
    monkeypatch.setenv("ABAH_TEST_SMPP_PASSWORD", "rahasia-uji")
    (tmp_path / "smsc").mkdir()
    smsc = SmscPeer(tmp_path / "smsc").start()
    try:
        settings.SMS_GATEWAYS = {
            "smpp": smpp_gateway(smsc, connect_wait=1),
            "modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                      "OPTIONS": modem.options(heartbeat_grace=3)},
        }
        settings.SMS_ROUTES = {"code": ["smpp", "modem"], "broadcast": ["modem", "smpp"]}
        codes = services.queue_messages([{"to": f"+62812350{i:04d}", "text": "Kode 1", "kind": "code"}
                                         for i in range(3)])
        news = services.queue_messages([{"to": f"+62812351{i:04d}", "text": "Siaran", "kind": "broadcast"}
                                        for i in range(2)])
        outbox = 'SELECT "DestinationNumber" FROM outbox UNION ALL SELECT "DestinationNumber" FROM sentitems'
        with workers("smpp", "modem") as (via_smpp, via_modem):
            assert run_all([via_smpp, via_modem], lambda: settled(codes)() and len(modem.query(outbox)) == 2)
            assert set(Message.objects.filter(pk__in=[m.pk for m in codes]).values_list("status", "gateway")) == {
                ("delivered", "smpp")}
            assert set(Message.objects.filter(pk__in=[m.pk for m in news]).values_list("gateway", flat=True)) == {"modem"}
            assert set(smsc.stats()["submits"]) == numbers(codes)

            modem.stop()  # gammu-smsd stops: its heartbeat in `phones` goes stale
            for _ in range(300):  # bounded: ~30 s
                if not via_modem.own_health(fresh=True)[0]:
                    break
                time.sleep(0.1)
            assert not via_modem.own_health()[0]
            via_modem.heartbeat(force=True)
            later = services.queue_messages([{"to": f"+62812352{i:04d}", "text": "Siaran", "kind": "broadcast"}
                                             for i in range(2)])
            via_smpp._others_at = -10  # read the heartbeats again now
            assert run_all([via_smpp, via_modem], settled(later))
        assert set(Message.objects.filter(pk__in=[m.pk for m in later]).values_list("status", "gateway")) == {
            ("delivered", "smpp")}
        assert set(smsc.stats()["submits"]) == numbers(codes) | numbers(later)
        assert len(modem.query(outbox)) == 2  # nothing more reached the modem's outbox
    finally:
        smsc.stop()


def test_gateways_and_routes_from_the_environment(settings, monkeypatch):
    import json

    del settings.SMS_GATEWAYS
    monkeypatch.setenv("SMS_GATEWAYS", json.dumps({
        "aggregator": {"BACKEND": "abah.sms.backends.smpp.SmppBackend", "OPTIONS": {"host": "10.0.0.7"}},
        "modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend", "OPTIONS": {"path": "/var/lib/gammu/smsd.db"}},
    }))
    monkeypatch.setenv("SMS_ROUTES", json.dumps({"broadcast": ["modem", "aggregator"]}))
    assert list(conf.gateways()) == ["aggregator", "modem"]
    assert conf.default_gateway() == "aggregator" and conf.gateway_config()["OPTIONS"] == {"host": "10.0.0.7"}
    assert conf.route_for("broadcast") == ["modem", "aggregator"] and conf.route_for("code") == ["aggregator", "modem"]
    assert Daemon(gateway="default").gateway == "aggregator"  # smsd without --gateway drives the first one
    monkeypatch.setenv("SMS_ROUTES", "{not json")
    with pytest.raises(ImproperlyConfigured, match="SMS_ROUTES is not valid JSON"):
        conf.routes()


def test_a_dead_modem_gives_back_what_it_never_started_and_the_smsc_sends_it(tmp_path, settings, monkeypatch, modem):
    monkeypatch.setenv("ABAH_TEST_SMPP_PASSWORD", "rahasia-uji")
    (tmp_path / "smsc").mkdir()
    smsc = SmscPeer(tmp_path / "smsc").start()
    try:
        settings.SMS_GATEWAYS = {
            "modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                      "OPTIONS": modem.options(heartbeat_grace=3, failover_after=1)},
            "smpp": smpp_gateway(smsc, connect_wait=1),
        }
        settings.SMS_ROUTES = {"broadcast": ["modem", "smpp"]}
        news = services.queue_messages([{"to": f"+62812353{i:04d}", "text": f"Siaran {i}", "kind": "broadcast"}
                                        for i in range(6)])
        with workers("modem", "smpp") as (via_modem, via_smpp):
            # gammu-smsd dies; its last heartbeat in `phones` still looks fresh for a few seconds, in which the
            # worker hands it all six messages: they sit in its outbox.
            modem.stop()
            via_modem.own_health(fresh=True)
            via_modem.tick()
            assert set(Message.objects.filter(pk__in=[m.pk for m in news]).values_list("status", "gateway")) == {
                ("sent", "modem")}
            assert len(modem.query('SELECT "ID" FROM outbox')) == len(news)
            sent_by_modem = {row[0].removeprefix("+") for row in modem.query('SELECT "DestinationNumber" FROM sentitems')}
            assert sent_by_modem == set()
            for _ in range(400):  # bounded: heartbeat stale (~10 s), failover_after, then the take-back
                via_modem.tick()
                if not modem.query('SELECT "ID" FROM outbox'):
                    break
                time.sleep(0.1)
            assert modem.query('SELECT "ID" FROM outbox') == []
            via_smpp._others_at = -10
            moved = [m for m in news if m.number.removeprefix("+") not in sent_by_modem]
            assert run_all([via_smpp, via_modem], settled(moved))
        via_smsc = set(smsc.stats()["submits"])
        assert via_smsc == numbers(moved) and not via_smsc & sent_by_modem  # each message sent once, somewhere
        for message in Message.objects.filter(pk__in=[m.pk for m in moved]):
            assert (message.status, message.gateway, message.attempts) == ("delivered", "smpp", 2)
    finally:
        smsc.stop()
