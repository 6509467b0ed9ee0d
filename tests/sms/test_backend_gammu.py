"""The Gammu backend against a real gammu-smsd (dummy phone driver) on its own database, end to end."""

import io
import time

import pytest
from django.core.management import call_command

from abah.sms import services
from abah.sms.backends.gammu import GammuBackend, GammuSchemaError
from abah.sms.daemon import Daemon
from abah.sms.models import Message
from tests import components

from .peers.fixtures import require_gammu, run_until  # noqa: F401 (fixture)
from .peers.gammu_peer import GammuPeer

pytestmark = pytest.mark.django_db(transaction=True)  # inbox rows are marked processed on commit

LONG_UCS2 = ("Yth. Bapak/Ibu, dana hibah untuk lembaga Anda telah dicairkan 🎉. Mohon tanda tangani NPHD "
             "di kantor Biro Kesra sebelum 30 November — terima kasih. مرحبا ✓ Salam hormat, Biro Kesra Jatim.")


def _engine() -> str:
    # Gammu's database on the engine the suite uses (PostgreSQL when DATABASE_URL says so; SQLite otherwise).
    return "postgresql" if components.database_url().startswith(("postgres://", "postgresql://")) else "sqlite"


@pytest.fixture
def gammu_db(require_gammu, tmp_path):  # noqa: F811
    peer = GammuPeer(tmp_path, _engine(), components.database_url())
    peer.create_database()
    yield peer
    peer.stop()
    peer.drop_database()


@pytest.fixture
def modem(gammu_db):
    return gammu_db.start()


@pytest.fixture
def daemon(settings, modem):
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend", "OPTIONS": modem.options()}}
    worker = Daemon(gateway="modem", batch_size=50, interval=0.05)
    worker.backend.open()
    yield worker
    worker.backend.close()


def sentitems(modem):
    return modem.query('SELECT "ID", "SequencePosition", "Status", "DestinationNumber", "Coding", "UDH", "TextDecoded", '
                       '"CreatorID" FROM sentitems ORDER BY "ID", "SequencePosition"')


def test_queue_to_modem_to_report_to_delivered_and_failed(daemon, modem):
    short = services.queue_message(to="081230900001", text="Kode verifikasi Anda 123456", kind="code")
    long = services.queue_message(to="081230900002", text=LONG_UCS2, kind="disbursement")
    failing = services.queue_message(to="081230900003", text="Undangan NPHD", kind="invitation")
    assert long.segments == 3
    run_until(daemon, lambda: len(sentitems(modem)) == 5, rounds=400)
    rows = sentitems(modem)
    assert {row[2] for row in rows} == {"SendingOK"}
    by_number = {}
    for _id, seq, _status, number, coding, udh, text, creator in rows:
        by_number.setdefault(number, []).append((seq, coding, udh, text, creator))
    assert by_number["+6281230900001"] == [(1, "Default_No_Compression", "", "Kode verifikasi Anda 123456",
                                            f"abah:{short.pk}")]
    parts = by_number["+6281230900002"]
    assert [p[0] for p in parts] == [1, 2, 3] and {p[1] for p in parts} == {"Unicode_No_Compression"}
    assert [p[2][:6] + p[2][8:] for p in parts] == ["0500030301", "0500030302", "0500030303"]
    assert "".join(p[3] for p in parts) == LONG_UCS2  # arrives whole
    for message in (short, long, failing):
        message.refresh_from_db()
        assert message.status == Message.Status.SENT and message.gateway == "modem"

    modem.report("+6281230900001", "Delivered")
    modem.report("+6281230900002", "Delivered")
    modem.report("+6281230900003", "Failed")
    run_until(daemon, lambda: not Message.objects.filter(status=Message.Status.SENT).exists(), rounds=400)
    short.refresh_from_db()
    long.refresh_from_db()
    failing.refresh_from_db()
    assert short.status == Message.Status.DELIVERED
    assert long.status == Message.Status.DELIVERED and long.parts.filter(status="delivered").count() == 3
    assert failing.status == Message.Status.FAILED
    assert failing.error_code == "DeliveryFailed"
    assert failing.error_reason.startswith("The delivery report says the message was not delivered")


def test_inbound_single_and_multipart_become_conversation_messages(daemon, modem):
    thread = services.conversation_for(party_type="test.party", party_id="5", title="Yayasan Contoh",
                                       number="081230900400")
    modem.receive("+6281230900400", "YA SETUJU")
    modem.receive("+6281230900401", "Ini bagian pertama ✓ ", udh="0500032A0201", unicode=True)
    modem.receive("+6281230900401", "dan bagian kedua.", udh="0500032A0202", unicode=True)
    run_until(daemon, lambda: Message.objects.filter(direction=Message.Direction.IN).count() >= 2, rounds=400)
    inbound = {m.number: m for m in Message.objects.filter(direction=Message.Direction.IN)}
    assert len(inbound) == 2
    assert inbound["+6281230900400"].text == "YA SETUJU"
    assert inbound["+6281230900400"].conversation_id == thread.pk
    assert inbound["+6281230900401"].text == "Ini bagian pertama ✓ dan bagian kedua."
    run_until(daemon, lambda: not modem.query('SELECT "ID" FROM inbox WHERE "Processed" = %s',
                                              (False if modem.engine == "postgresql" else "false",)), rounds=100)
    assert modem.query('SELECT COUNT(*) FROM inbox')[0][0] == 3
    daemon.tick(drain=True)  # processed rows are not read again
    assert Message.objects.filter(direction=Message.Direction.IN).count() == 2


def test_status_shows_the_modem_heartbeat_and_signal(settings, modem):
    backend = GammuBackend(**modem.options(heartbeat_grace=2))
    backend.open()
    try:
        ok, detail = backend.status()
        assert ok, detail
        assert detail.startswith("dummy1: up, signal ")
        modem.stop()
        for _ in range(300):  # bounded: the heartbeat goes stale ~10 s after the daemon stops
            ok, detail = backend.status()
            if not ok:
                break
            time.sleep(0.1)
        assert not ok
        assert "stale" in detail  # gammu-smsd leaves its row in `phones`: the heartbeat just stops moving
        assert "StatusFrequency = 0" in detail  # the hint for a daemon that never refreshes its heartbeat
        lenient = GammuBackend(**modem.options(heartbeat_grace=0))  # heartbeat ignored: registered is enough
        lenient.open()
        try:
            assert lenient.status()[0]
        finally:
            lenient.close()
    finally:
        backend.close()


def test_unsupported_schema_version_is_refused_clearly(gammu_db):
    assert gammu_db.query('UPDATE gammu SET "Version" = 16 RETURNING "Version"') == [(16,)]
    backend = GammuBackend(**gammu_db.options())
    with pytest.raises(GammuSchemaError, match="schema version 16 is not supported"):
        backend.open()


def test_gateway_check_reports_schema_and_modem(settings, modem):
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend", "OPTIONS": modem.options()}}
    out = io.StringIO()
    call_command("sms_gateway_check", stdout=out)
    text = out.getvalue()
    assert "[ ok ] modem (GammuBackend)" in text and "schema version 17" in text and "dummy1: up" in text


def test_gateway_check_without_a_modem(settings, gammu_db):
    settings.SMS_GATEWAYS = {"modem": {"BACKEND": "abah.sms.backends.gammu.GammuBackend",
                                       "OPTIONS": gammu_db.options()}}
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("sms_gateway_check", stdout=out)
    assert "no modem" in out.getvalue()


def test_delivered_through_the_modem_shows_the_green_check_in_the_thread(daemon, modem, admin_client):
    from django.urls import reverse

    thread = services.conversation_for(party_type="test.party", party_id="12", title="Yayasan Contoh",
                                       number="081230900901")
    message = services.queue_message(to="081230900901", text="Dana hibah telah dicairkan", kind="disbursement",
                                     conversation=thread)
    run_until(daemon, lambda: len(sentitems(modem)) == 1, rounds=400)
    modem.report("+6281230900901", "Delivered")
    run_until(daemon, lambda: Message.objects.filter(pk=message.pk, status=Message.Status.DELIVERED).exists(),
              rounds=400)
    body = admin_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
    assert body.count('data-testid="mark-delivered"') == 1 and "Dana hibah telah dicairkan" in body
