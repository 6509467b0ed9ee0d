"""The http backend with the Twilio preset, end to end over real HTTP: our worker sends to a local peer that follows
Twilio's published Messages API (tests/sms/twilio_peer.py); the peer posts its signed StatusCallback and
incoming-message webhooks to our callback URL on a live server; the worker applies them."""

import json
import time

import pytest

from abah.sms import services
from abah.sms.backends import get_backend
from abah.sms.daemon import Daemon
from abah.sms.models import CallbackEvent, Message, MessagePart, UnmatchedReport
from tests.sms.twilio_peer import TwilioPeer, twilio_signature

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "cb-secret-7f3a"


@pytest.fixture
def peer():
    peer = TwilioPeer()
    yield peer
    peer.stop()


@pytest.fixture
def twilio(settings, monkeypatch, peer, live_server):
    monkeypatch.setenv("SMS_TWILIO_AUTH_TOKEN", peer.token)
    monkeypatch.setenv("SMS_CALLBACK_TOKEN", TOKEN)
    settings.SMS_GATEWAYS = {"twilio": {"BACKEND": "abah.sms.backends.http.HttpBackend", "OPTIONS": {
        "preset": "twilio", "account": peer.account, "sender": "+15005550006", "public_url": live_server.url,
        "url": peer.url + "/2010-04-01/Accounts/{account}/Messages.json", "concurrency": 4,
        "check_url": peer.url + "/2010-04-01/Accounts/{account}.json"}}}
    peer.incoming_url = f"{live_server.url}/sms/callback/twilio/{TOKEN}/"
    return peer


def queue(*numbers, text="Undangan penandatanganan NPHD"):
    return [services.queue_message(to=number, text=text, kind="manual") for number in numbers]


def worker() -> Daemon:
    return Daemon(gateway="twilio", batch_size=50)


def settle(daemon: Daemon, peer: TwilioPeer, callbacks: int) -> None:
    assert peer.wait(callbacks), f"the peer made {len(peer.callbacks)} of {callbacks} callbacks"
    assert all(status == 200 for _what, status in peer.callbacks), peer.callbacks
    daemon.poll()


def test_a_text_goes_out_through_the_provider_and_its_receipt_marks_it_delivered(twilio):
    good, dead = queue("+6281234567890", "+6281234560000")
    daemon = worker()
    daemon.tick()
    sent = {m["to"]: m for m in twilio.messages}
    assert set(sent) == {"+6281234567890", "+6281234560000"}
    assert sent["+6281234567890"]["body"] == "Undangan penandatanganan NPHD"
    assert sent["+6281234567890"]["from"] == "+15005550006"
    part = MessagePart.objects.get(message=good)
    assert part.gateway == "twilio" and part.gateway_message_id == sent["+6281234567890"]["sid"]
    settle(daemon, twilio, 4)  # sent + delivered, sent + undelivered
    good.refresh_from_db()
    dead.refresh_from_db()
    assert good.status == Message.Status.DELIVERED and good.delivered_at
    assert dead.status == Message.Status.FAILED and dead.error_code == "30003"
    assert not CallbackEvent.objects.exists()  # applied, then forgotten


def test_repeated_and_reversed_callbacks_change_nothing_twice(twilio):
    twilio.duplicate = twilio.reverse = True  # "delivered" before "sent", each one twice
    message, = queue("+6281234567891")
    daemon = worker()
    daemon.tick()
    settle(daemon, twilio, 4)
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert MessagePart.objects.get(message=message).status == MessagePart.Status.DELIVERED


def test_a_receipt_that_comes_before_the_send_is_recorded_waits_for_its_part(twilio):
    """A provider may call back before our worker has written the send's own answer: the report is kept
    (UnmatchedReport) and applied once the part is there."""
    message, = queue("+6281234567892")
    backend = get_backend("twilio")
    CallbackEvent.objects.create(gateway="twilio", kind="report", gateway_message_id="SMnot-yet-written",
                                 delivered=True)
    daemon = worker()
    daemon.poll()
    assert UnmatchedReport.objects.filter(gateway_message_id="SMnot-yet-written").exists()
    assert backend.callback_url().endswith(f"/sms/callback/twilio/{TOKEN}/")
    assert message.status == Message.Status.QUEUED


def test_a_reply_becomes_an_inbound_message_once(twilio):
    daemon = worker()
    assert twilio.inbound("+6281234567893", "Sudah kami terima, terima kasih", sid="SMreply1") == 200
    assert twilio.inbound("+6281234567893", "Sudah kami terima, terima kasih", sid="SMreply1") == 200  # repeated
    daemon.poll()
    replies = Message.objects.filter(direction=Message.Direction.IN)
    assert replies.count() == 1
    reply = replies.get()
    assert reply.text == "Sudah kami terima, terima kasih" and reply.number == "+6281234567893"
    assert not CallbackEvent.objects.exists()


def test_provider_errors_are_retried_or_failed_with_its_words(twilio, monkeypatch):
    twilio.fail_next = 1
    message, = queue("+6281234567894")
    daemon = worker()
    daemon.tick()
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and message.error_code == "http_500"  # temporary: later
    monkeypatch.setenv("SMS_TWILIO_AUTH_TOKEN", "wrong")
    Message.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
    worker().tick()
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.error_code == "20003" and "Authenticate" in message.error_reason


def test_too_many_requests_are_throttled_and_sent_later(twilio):
    twilio.rate = 2
    messages = queue(*[f"+62812345670{i:02d}" for i in range(6)])
    daemon = worker()
    daemon.tick()
    states = list(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", "error_code"))
    taken = [status for status, _code in states if status in (Message.Status.SENT, Message.Status.DELIVERED)]
    assert len(taken) >= 2, states  # (the tick's own poll may have applied a fast receipt already)
    assert all(code == "http_429" for status, code in states if status == Message.Status.QUEUED), states
    assert len(twilio.messages) == len(taken)


def post(client, body, *, token=TOKEN, signature=None, url_base="", content_type="application/x-www-form-urlencoded",
         **extra):
    path = f"/sms/callback/twilio/{token}/"
    if signature is None:
        from urllib.parse import parse_qsl

        signature = twilio_signature("peer-auth-token", url_base + path, dict(parse_qsl(body)))
    return client.generic("POST", path, body, content_type=content_type, HTTP_X_TWILIO_SIGNATURE=signature, **extra)


@pytest.mark.parametrize(("case", "expected"), [
    ("bad signature", 403), ("wrong token", 403), ("no token", 403), ("huge body", 413),
    ("not a callback", 400), ("unknown gateway", 404),
])
def test_hostile_callbacks_are_refused_and_change_nothing(twilio, client, live_server, case, expected, caplog):
    body = "MessageSid=SMx&MessageStatus=delivered&AccountSid=AC1"
    if case == "bad signature":
        response = post(client, body, signature="AAAA", url_base=live_server.url)
    elif case == "wrong token":
        response = post(client, body, token="guess", url_base=live_server.url)
    elif case == "no token":
        response = post(client, body, token="-", url_base=live_server.url)
    elif case == "huge body":
        response = post(client, "Body=" + "x" * (10 * 1024 * 1024), url_base=live_server.url)
    elif case == "not a callback":
        response = post(client, "hello=world", url_base=live_server.url)
    else:
        response = client.post("/sms/callback/nope/x/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == expected
    assert not CallbackEvent.objects.exists()
    assert "refused" in caplog.text


def test_malformed_json_to_a_json_provider_is_refused(settings, monkeypatch, client):
    monkeypatch.setenv("SMS_INFOBIP_API_KEY", "k")
    monkeypatch.setenv("SMS_CALLBACK_TOKEN", TOKEN)
    settings.SMS_GATEWAYS = {"ib": {"BACKEND": "abah.sms.backends.http.HttpBackend", "OPTIONS": {
        "preset": "infobip", "base_url": "http://127.0.0.1:9", "sender": "ABAH"}}}
    response = client.post(f"/sms/callback/ib/{TOKEN}/", "{not json", content_type="application/json")
    assert response.status_code == 400
    ok = client.post(f"/sms/callback/ib/{TOKEN}/", json.dumps({"results": [
        {"messageId": "abc", "status": {"groupName": "DELIVERED"}, "error": {"name": "NO_ERROR"}}]}),
        content_type="application/json")
    assert ok.status_code == 200
    event = CallbackEvent.objects.get()
    assert (event.gateway, event.kind, event.gateway_message_id, event.delivered) == ("ib", "report", "abc", True)


def test_secrets_stay_out_of_the_options(monkeypatch):
    from abah.sms.backends.base import OutgoingSMS
    from abah.sms.backends.http import HttpBackend

    monkeypatch.setenv("SMS_TWILIO_AUTH_TOKEN", "very-secret")
    backend = HttpBackend("t", preset="twilio", account="AC1", public_url="https://sms.example.go.id")
    assert "very-secret" not in json.dumps(backend.options, default=str)
    request = backend.request_for(OutgoingSMS(7, "+6281234567890", "Halo"))
    assert request["auth"] == ("AC1", "very-secret")
    assert request["url"] == "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert request["data"]["To"] == "+6281234567890" and request["data"]["Body"] == "Halo"


def test_gateway_check_reads_the_account_and_reaches_the_callback_url(twilio, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sms_gateway_check", "twilio", stdout=out)
    text = out.getvalue()
    assert "[ ok ] twilio (HttpBackend)" in text, text
    assert "answered 200" in text and "callback URL" in text and "answers" in text
    monkeypatch.setenv("SMS_TWILIO_AUTH_TOKEN", "wrong")
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("sms_gateway_check", "twilio", stdout=out)
    assert "answered 401: the provider refuses the credentials" in out.getvalue()


@pytest.fixture
def infobip(settings, monkeypatch, live_server):
    from tests.sms.infobip_peer import InfobipPeer

    peer = InfobipPeer()
    monkeypatch.setenv("SMS_INFOBIP_API_KEY", peer.key)
    monkeypatch.setenv("SMS_CALLBACK_TOKEN", TOKEN)
    settings.SMS_GATEWAYS = {"infobip": {"BACKEND": "abah.sms.backends.http.HttpBackend", "OPTIONS": {
        "preset": "infobip", "base_url": peer.url, "sender": "BIROKESRA", "public_url": live_server.url}}}
    peer.forward_url = f"{live_server.url}/sms/callback/infobip/{TOKEN}/"
    yield peer
    peer.stop()


def test_infobip_preset_end_to_end(infobip, monkeypatch):
    good, dead, odd = queue("+6281234567895", "+6281234560000", "+6281234567896")
    Message.objects.filter(pk=odd.pk).update(number="+62abc")  # a destination the provider rejects
    daemon = Daemon(gateway="infobip", batch_size=50)
    daemon.tick()
    sent = {m["to"]: m for m in infobip.messages}
    assert set(sent) == {"6281234567895", "6281234560000"}
    assert sent["6281234567895"]["from"] == "BIROKESRA" and sent["6281234567895"]["callbackData"] == str(good.pk)
    odd.refresh_from_db()
    assert odd.status == Message.Status.FAILED
    assert odd.error_code == "REJECTED_DESTINATION" and "Invalid destination address" in odd.error_reason
    assert infobip.wait(2)
    assert all(status == 200 for _what, status in infobip.callbacks), infobip.callbacks
    assert infobip.inbound("6281234567895", "HADIR", message_id="ib-in-1") == 200
    daemon.poll()
    good.refresh_from_db()
    dead.refresh_from_db()
    assert good.status == Message.Status.DELIVERED
    assert dead.status == Message.Status.FAILED and dead.error_code == "EC_ABSENT_SUBSCRIBER"
    assert dead.error_reason == "Absent Subscriber"
    reply = Message.objects.get(direction=Message.Direction.IN)
    assert reply.text == "HADIR" and reply.number == "+6281234567895"
    monkeypatch.setenv("SMS_INFOBIP_API_KEY", "wrong")
    late, = queue("+6281234567897")
    Daemon(gateway="infobip", batch_size=50).tick()
    late.refresh_from_db()
    assert late.status == Message.Status.FAILED
    assert late.error_code == "UNAUTHORIZED" and "Invalid login details" in late.error_reason


@pytest.mark.parametrize(("age", "good_signature", "expected"), [
    (0, True, 200), (10, True, 200), (301, True, 403), (-400, True, 403), (0, False, 403)])
def test_hmac_signed_callbacks_keep_to_their_replay_window(settings, monkeypatch, client, age, good_signature,
                                                           expected):
    """A provider that signs timestamp + body (HMAC-SHA256): an old (or future) timestamp is a replay, refused
    like a bad signature; nothing is stored."""
    import hashlib
    import hmac
    import time

    monkeypatch.setenv("SMS_CALLBACK_TOKEN", TOKEN)
    monkeypatch.setenv("SMS_HOOK_SECRET", "hook-secret")
    settings.SMS_GATEWAYS = {"gen": {"BACKEND": "abah.sms.backends.http.HttpBackend", "OPTIONS": {
        "url": "http://127.0.0.1:9/send", "callback": {
            "signature": "hmac-sha256", "secret_env": "SMS_HOOK_SECRET", "format": "json",
            "report": {"id": "id", "status": "state", "delivered": ["DELIVERED"], "failed": ["FAILED"]}}}}}
    body = json.dumps({"id": "g-1", "state": "DELIVERED"}).encode()
    stamp = str(int(time.time()) - age)
    key = b"hook-secret" if good_signature else b"guess"
    signature = hmac.new(key, stamp.encode() + body, hashlib.sha256).hexdigest()
    response = client.post(f"/sms/callback/gen/{TOKEN}/", body, content_type="application/json",
                           HTTP_X_TIMESTAMP=stamp, HTTP_X_SIGNATURE=signature)
    assert response.status_code == expected
    assert CallbackEvent.objects.count() == (1 if expected == 200 else 0)


def test_without_callbacks_the_worker_asks_the_provider_for_the_states(twilio, settings):
    """A bureau behind NAT: the provider cannot reach the callback URL. With the polling fallback switched on, the
    worker reads the Message resource of what is still waiting, in turns, and settles it."""
    twilio.push = False
    settings.SMS_GATEWAYS["twilio"]["OPTIONS"]["status"] = {
        "enabled": True, "url": twilio.url + "/2010-04-01/Accounts/{account}/Messages/{gateway_id}.json",
        "every": 0, "after": 0, "limit": 1}
    good, dead = queue("+6281234567898", "+6281234560000")
    daemon = worker()
    daemon.tick()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and {m["status"] for m in twilio.messages} != {"delivered", "undelivered"}:
        time.sleep(0.05)
    assert not twilio.callbacks
    daemon.poll()  # one message a round (limit 1) …
    daemon.poll()  # … then the other
    good.refresh_from_db()
    dead.refresh_from_db()
    assert good.status == Message.Status.DELIVERED
    assert dead.status == Message.Status.FAILED and dead.error_code == "30003"
    assert dead.error_reason == "Unreachable destination handset"
