"""The SMPP backend against a real SMSC peer (smpp34's server in a subprocess): the whole path, end to end."""

import io
import logging
import threading
import time

import pytest
from django.core.management import call_command

from abah.sms import services
from abah.sms.backends.smpp import SmppBackend, status_words
from abah.sms.daemon import Daemon
from abah.sms.models import Message

from .peers.fixtures import run_until, smpp_gateway, smsc  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)  # the worker acknowledges receipts on commit

PASSWORD = "s3cret-Rahasia-77"
LONG_UCS2 = ("Yth. Bapak/Ibu, dana hibah untuk lembaga Anda telah dicairkan 🎉. Mohon tanda tangani NPHD "
             "di kantor Biro Kesra sebelum 30 November — terima kasih. مرحبا ✓ Salam hormat, Biro Kesra Jatim.")
LONG_GSM = " ".join(["Halo"] * 60)  # 299 characters: two GSM-7 segments


@pytest.fixture
def gateway(settings, smsc, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ABAH_TEST_SMPP_PASSWORD", PASSWORD)
    settings.SMS_GATEWAYS = {"default": smpp_gateway(smsc)}
    settings.SMS_RETRY_BACKOFF = (0.05, 0.2)
    return smsc


@pytest.fixture
def daemon(gateway):
    worker = Daemon(batch_size=50, interval=0.05)
    worker.backend.open()
    yield worker
    worker.backend.close()


def queue(numbers, text="Kode verifikasi Anda 123456", kind="code"):
    return [services.queue_message(to=number, text=text, kind=kind) for number in numbers]


def settled(messages):
    def done():
        return not Message.objects.filter(pk__in=[m.pk for m in messages], status__in=Message.PENDING_STATUSES).exists()
    return done


def statuses(messages):
    return {m.number: (m.status, m.error_code, m.error_reason)
            for m in Message.objects.filter(pk__in=[m.pk for m in messages])}


def test_queue_to_gateway_to_peer_to_receipt_to_delivered(daemon, gateway):
    messages = queue(["081230900001", "081230900002"])
    run_until(daemon, settled(messages))
    for message in messages:
        message.refresh_from_db()
        assert message.status == Message.Status.DELIVERED
        [part] = message.parts.all()
        assert part.status == "delivered" and part.gateway_message_id.startswith("P")
    stats = gateway.stats()
    assert stats["submits"] == {"6281230900001": 1, "6281230900002": 1}
    assert stats["texts"]["6281230900001"] == ["Kode verifikasi Anda 123456"]
    run_until(daemon, lambda: gateway.stats()["owed"] == 0)  # deliver_sm_resp went out after the commit
    assert gateway.stats()["receipts_acked"] == 2


def test_failures_carry_the_reason_in_words(daemon, gateway):
    gateway.command("set reject 900066$")
    gateway.command("set undeliv 900077$")
    gateway.command("set expire 900088$")
    messages = queue(["081230900055", "081230900066", "081230900077", "081230900088"])
    run_until(daemon, settled(messages))
    result = statuses(messages)
    assert result["+6281230900055"][0] == Message.Status.DELIVERED
    assert result["+6281230900066"] == (Message.Status.FAILED, "ESME_RINVDSTADR", "ESME_RINVDSTADR: invalid destination address")
    assert result["+6281230900077"] == (Message.Status.FAILED, "undeliv", "Undeliverable (err 005)")
    assert result["+6281230900088"] == (Message.Status.FAILED, "expired", "Expired before it could be delivered (err 001)")
    assert "6281230900066" not in gateway.stats()["submits"]


@pytest.mark.parametrize("concat", ["udh", "sar"])
def test_long_ucs2_message_arrives_whole(settings, gateway, concat):
    settings.SMS_GATEWAYS = {"default": smpp_gateway(gateway, concat=concat)}
    worker = Daemon(batch_size=50, interval=0.05)
    worker.backend.open()
    try:
        [message] = queue(["081230900101"], text=LONG_UCS2, kind="disbursement")
        assert message.encoding == "UCS-2" and message.segments == 3
        run_until(worker, settled([message]))
    finally:
        worker.backend.close()
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert message.parts.count() == 3 and set(message.parts.values_list("status", flat=True)) == {"delivered"}
    stats = gateway.stats()
    assert stats["submits"]["6281230900101"] == 3
    assert stats["texts"]["6281230900101"] == [LONG_UCS2]


def test_receipt_that_overtakes_its_submit_response_lands_on_the_right_message(daemon, gateway):
    gateway.command("set early 1")
    messages = queue([f"0812309002{i:02d}" for i in range(30)], text="Undangan NPHD " + "x" * 200)  # 2 parts each
    run_until(daemon, settled(messages))
    assert {m.status for m in Message.objects.filter(pk__in=[m.pk for m in messages])} == {Message.Status.DELIVERED}
    for message in messages:
        assert message.parts.filter(status="delivered").count() == 2


def test_throttling_slows_down_and_retries_without_duplicates(daemon, gateway):
    gateway.command("set throttle 12")
    messages = queue([f"0812309003{i:02d}" for i in range(20)])
    run_until(daemon, settled(messages))
    assert {m.status for m in Message.objects.filter(pk__in=[m.pk for m in messages])} == {Message.Status.DELIVERED}
    assert daemon.backend.stats["throttled"] == 12
    assert set(gateway.stats()["submits"].values()) == {1}


def test_inbound_messages_single_and_multipart_become_conversation_messages(daemon, gateway):
    thread = services.conversation_for(party_type="test.party", party_id="9", title="Yayasan Contoh",
                                       number="081230900400")
    assert gateway.mo("6281230900400", "ABAH", "YA SETUJU") == 1
    assert gateway.mo("6281230900400", "ABAH", LONG_UCS2, alphabet="ucs2") == 3
    assert gateway.mo("6281230900401", "ABAH", LONG_UCS2, alphabet="ucs2", sar=True) == 3
    assert gateway.mo("6281230900402", "ABAH", LONG_GSM) == 2  # long GSM-7

    def arrived():
        return Message.objects.filter(direction=Message.Direction.IN).count() == 4

    run_until(daemon, arrived)
    inbound = list(Message.objects.filter(direction=Message.Direction.IN).order_by("id"))
    assert sorted((m.number, m.text) for m in inbound) == sorted([
        ("+6281230900400", "YA SETUJU"),
        ("+6281230900400", LONG_UCS2),
        ("+6281230900401", LONG_UCS2),
        ("+6281230900402", LONG_GSM),
    ])
    assert {m.conversation_id for m in inbound if m.number == "+6281230900400"} == {thread.pk}
    assert {m.status for m in inbound} == {Message.Status.RECEIVED}



def test_smsc_killed_and_restarted_mid_stream_loses_nothing(settings, gateway, capsys):
    settings.SMS_GATEWAYS = {"default": smpp_gateway(gateway, window=8)}
    total = 1200
    messages = services.queue_messages([{"to": f"+62812310{i:05d}", "text": f"Pesan {i}", "kind": "broadcast"}
                                        for i in range(total)])
    worker = Daemon(batch_size=40, interval=0.05)
    worker.backend.open()
    killed_at = {}

    def crash_the_smsc():
        for _ in range(20_000):  # bounded: at most ~40 s
            submits = sum(gateway.stats()["submits"].values())
            if submits >= total // 3 + 20:  # mid-batch, so that some submits are in flight
                gateway.stop()
                killed_at["submits"] = submits
                time.sleep(0.3)
                gateway.start()
                return
            time.sleep(0.002)

    crasher = threading.Thread(target=crash_the_smsc)
    crasher.start()
    try:
        run_until(worker, settled(messages), rounds=1500)
    finally:
        crasher.join(timeout=60)
        worker.backend.close()
    assert killed_at and killed_at["submits"] < total, "the SMSC was not restarted mid-stream"
    result = statuses(messages)
    assert len(result) == total
    lost = [n for n, (status, *_r) in result.items() if status != Message.Status.DELIVERED]
    submits = gateway.stats()["submits"]
    duplicates = sum(count - 1 for count in submits.values() if count > 1)
    in_flight = worker.backend.stats["lost_in_flight"]
    with capsys.disabled():
        print(f"\n[smpp restart] {total} messages, SMSC killed after {killed_at['submits']} submits: "
              f"{len(lost)} lost, {duplicates} duplicate submits, {in_flight} unanswered in flight at the crash")
    assert lost == []
    assert len(submits) == total
    assert duplicates <= in_flight


def test_credentials_never_reach_logs_or_options(daemon, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    messages = queue(["081230900501"])
    run_until(daemon, settled(messages))
    backend = daemon.backend
    assert PASSWORD not in repr(backend) and PASSWORD not in str(backend.options)
    assert PASSWORD not in caplog.text and PASSWORD.encode().hex() not in caplog.text
    assert "password" not in {k for k in backend.options}


def test_status_words():
    assert status_words(0x58) == "ESME_RTHROTTLED: throttling error (ESME has exceeded allowed message limits)"
    assert status_words(0x0E) == "ESME_RINVPASWD: invalid password"


def test_gateway_check_reports_what_works(gateway):
    out = io.StringIO()
    call_command("sms_gateway_check", stdout=out)
    text = out.getvalue()
    assert "[ ok ] default" in text and "bound as 'abah'" in text and "enquire_link answered" in text
    assert PASSWORD not in text


def test_gateway_check_reports_a_refused_connection(settings, gateway):
    gateway.stop()
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("sms_gateway_check", stdout=out)
    assert exit_info.value.code == 1
    assert "refused or unreachable" in out.getvalue()


def test_backend_reconnects_and_reports_status(gateway, monkeypatch):
    monkeypatch.setenv("ABAH_TEST_SMPP_PASSWORD", PASSWORD)
    backend = SmppBackend(**smpp_gateway(gateway)["OPTIONS"])
    backend.open()
    try:
        assert backend.status()[0] is True
        gateway.stop()
        for _ in range(100):
            if not backend.status()[0]:
                break
            time.sleep(0.02)
        assert backend.status()[0] is False
        gateway.start()
        assert backend.wait_bound(10)
        assert backend.status() == (True, f"bound (transceiver) to 127.0.0.1:{gateway.port} as abah")
    finally:
        backend.close()


def test_receipts_waiting_when_the_batch_is_recorded_are_written_with_the_parts(daemon, gateway):
    from abah.sms.signals import message_status_changed

    gateway.command("set delay_ms 0")  # receipts right behind the responses: all waiting at record time
    gateway.command("set undeliv 900602$")
    seen = []

    def listener(sender, message, old_status, new_status, **kwargs):
        seen.append((message.number, old_status, new_status))

    message_status_changed.connect(listener, sender=Message)
    try:
        messages = queue(["081230900601", "081230900602"]) + queue(["081230900603"], text=LONG_GSM)
        run_until(daemon, settled(messages))
    finally:
        message_status_changed.disconnect(listener, sender=Message)
    result = statuses(messages)
    assert result["+6281230900601"][0] == Message.Status.DELIVERED
    assert result["+6281230900602"] == (Message.Status.FAILED, "undeliv", "Undeliverable (err 005)")
    assert result["+6281230900603"][0] == Message.Status.DELIVERED
    long = Message.objects.get(number="+6281230900603")
    assert list(long.parts.values_list("seq", "status")) == [(1, "delivered"), (2, "delivered")]
    assert long.sent_at and long.delivered_at and long.gateway == "default"
    # Listeners still see both steps, in order.
    assert [(old, new) for number, old, new in seen if number == "+6281230900601"] == [
        ("sending", "sent"), ("sent", "delivered")]
    assert ("+6281230900602", "sent", "failed") in seen
    run_until(daemon, lambda: gateway.stats()["owed"] == 0)  # acknowledged after the commit


def test_transmitter_plus_receiver_binds_carry_submits_receipts_and_replies(settings, gateway):
    settings.SMS_GATEWAYS = {"default": smpp_gateway(gateway, bind="transmitter_receiver", source_addr="+6281100")}
    worker = Daemon(batch_size=50, interval=0.05)
    worker.backend.open()
    try:
        assert [link.mode for link in worker.backend.links] == ["transmitter", "receiver"]
        assert worker.backend.status()[0]
        messages = queue(["081230900701", "081230900702"])
        assert gateway.mo("6281230900703", "6281100", "BALAS YA") == 1
        run_until(worker, lambda: settled(messages)() and Message.objects.filter(direction="in").exists())
    finally:
        worker.backend.close()
    assert set(statuses(messages).values()) == {(Message.Status.DELIVERED, "", "")}
    assert gateway.stats()["binds"] == 2
    assert Message.objects.get(direction="in").text == "BALAS YA"


def test_a_refused_bind_is_reported_in_words():
    from smpplib import exceptions

    from abah.sms.backends.smpp import describe

    # What smpplib raises when the SMSC answers bind_transceiver_resp with a command status.
    refused = exceptions.PDUError("(14) bind_transceiver_resp: Invalid Password", 0x0E)
    assert describe(refused) == "bind refused: ESME_RINVPASWD: invalid password"
    assert describe(exceptions.PDUError("(15) bind_transceiver_resp: Invalid System ID", 0x0F)) == (
        "bind refused: ESME_RINVSYSID: invalid system ID")


def test_delivered_through_the_smsc_shows_the_green_check_and_the_reply_in_the_thread(daemon, gateway, admin_client):
    from django.urls import reverse

    thread = services.conversation_for(party_type="test.party", party_id="11", title="Yayasan Contoh",
                                       number="081230900801")
    message = services.queue_message(to="081230900801", text="Undangan NPHD", kind="invitation", conversation=thread)
    assert gateway.mo("6281230900801", "ABAH", "Siap hadir") == 1
    run_until(daemon, lambda: settled([message])() and thread.messages.filter(direction="in").exists())
    body = admin_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
    assert body.count('data-testid="mark-delivered"') == 1
    assert "Undangan NPHD" in body and "Siap hadir" in body
