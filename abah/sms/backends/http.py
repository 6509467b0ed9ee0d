"""HTTP SMS APIs: one configurable backend for an aggregator's send API, with its delivery reports and replies
pushed to our callback URL (``/sms/callback/<gateway>/<token>/``, sms.callbacks), and presets for real providers.

In the spirit of Kannel's generic HTTP SMSC and RapidPro's "External API" channel, everything a provider's API
differs in is configuration (SMS_GATEWAYS OPTIONS, JSON):

    "aggregator": {"BACKEND": "abah.sms.backends.http.HttpBackend", "OPTIONS": {
        "preset": "twilio",                       # twilio, infobip (PRESETS) — or every key below by hand
        "account": "AC0123…",                     # any option is a {placeholder} of url, auth and body
        "sender": "+1415…",
        "public_url": "https://sms.example.go.id"}}   # how the provider reaches our callback URL

    url, method                 the send request ("POST")
    auth                        {"type": "basic", "username": …, "password_env": …}; {"type": "bearer",
                                "token_env": …}; {"type": "header", "name": …, "prefix": …, "value_env": …};
                                {"type": "body", "field": …, "value_env": …}; secrets only from the environment
    body_format, body           "form" or "json"; the body with placeholders {to} (E.164), {to_plain} (E.164
                                without "+"), {to_local} (0812…), {text}, {id} (our message id), {sender},
                                {callback_url}
    id_path                     where the answer (JSON) holds the provider's message id (a long text is one
                                message to the provider, which splits it and reports on the whole)
    error_code_path, error_path where it holds an error's code and words
    ok_path, ok_values          an answer 2xx whose ok_path is not one of ok_values is a refusal (some providers
                                answer 200 with an error inside)
    temporary_statuses          HTTP statuses that mean "try again later" (default 429 and every 5xx); any other
                                non-2xx is a permanent refusal with the provider's words
    timeout, concurrency        seconds per request (default 10); requests in flight at once (default 8)
    rate_limit                  messages per second (the worker's limiter)
    status                      the polling fallback, for a callback URL the provider cannot reach: {"url" (with
                                {gateway_id}), "status_path", "error_code_path", "error_path", "every" (60 s),
                                "after" (30 s), "limit" (100), "enabled"}; the states are read with the report
                                lists of ``callback``
    callback                    how to read and trust what the provider pushes: signature ("twilio": HMAC-SHA1
                                of URL and sorted form fields with the auth token; "hmac-sha256": of timestamp
                                and body, with a replay window; otherwise the secret token in the URL alone),
                                format ("form" or "json"), items (a JSON list of events), report {id, status,
                                error_code, error, delivered: […], failed: […]}, inbound {when, id, from, text}

The secret token of the callback URL comes from ``callback_token_env`` (default SMS_CALLBACK_TOKEN): a call
without it is refused before anything is read. Secrets never reach ``self.options`` (logs, the status page).
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from urllib.parse import parse_qsl

import httpx
from django.db import connection, transaction

from abah.sms.models import CallbackEvent

from .base import BaseSmsBackend, DeliveryReport, InboundSMS, SendResult

log = logging.getLogger("abah.sms.http")

PRESETS = {
    # Twilio Programmable Messaging: POST /2010-04-01/Accounts/{AccountSid}/Messages.json (form), HTTP basic auth
    # with the Account SID and Auth Token, 201 {"sid", "status", "num_segments", …}; errors {"code", "message",
    # "status"}; the StatusCallback and the incoming-message webhook post forms signed with X-Twilio-Signature.
    "twilio": {
        "url": "https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json",
        "method": "POST",
        "auth": {"type": "basic", "username": "{account}", "password_env": "SMS_TWILIO_AUTH_TOKEN"},
        "body_format": "form",
        "body": {"To": "{to}", "From": "{sender}", "Body": "{text}", "StatusCallback": "{callback_url}"},
        "id_path": "sid",
        "check_url": "https://api.twilio.com/2010-04-01/Accounts/{account}.json",
        # the polling fallback reads the Message resource (switched on by "status": {"enabled": true})
        "status": {"enabled": False,
                   "url": "https://api.twilio.com/2010-04-01/Accounts/{account}/Messages/{gateway_id}.json",
                   "status_path": "status", "error_code_path": "error_code", "error_path": "error_message"},
        "error_code_path": "code",
        "error_path": "message",
        "callback": {
            "signature": "twilio", "secret_env": "SMS_TWILIO_AUTH_TOKEN", "format": "form",
            "report": {"id": "MessageSid", "status": "MessageStatus", "error_code": "ErrorCode",
                       "delivered": ["delivered"], "failed": ["undelivered", "failed", "canceled"]},
            "inbound": {"when": "Body", "id": "MessageSid", "from": "From", "text": "Body"},
            "answer": '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
            "answer_type": "text/xml",
        },
    },
    # Infobip SMS API: POST {base_url}/sms/2/text/advanced (JSON), "Authorization: App <API key>", answer
    # {"messages": [{"messageId", "status": {"groupName", …}}]}; errors {"requestError": {"serviceException":
    # {"messageId", "text"}}}; delivery reports and inbound messages are pushed as {"results": [...]} to the
    # notifyUrl / the number's forward URL (no signature: the secret token in the URL).
    "infobip": {
        "url": "{base_url}/sms/2/text/advanced",
        "method": "POST",
        "auth": {"type": "header", "name": "Authorization", "prefix": "App ", "value_env": "SMS_INFOBIP_API_KEY"},
        "body_format": "json",
        "body": {"messages": [{"destinations": [{"to": "{to_plain}"}], "from": "{sender}", "text": "{text}",
                               "notifyUrl": "{callback_url}", "notifyContentType": "application/json",
                               "callbackData": "{id}"}]},
        "id_path": "messages.0.messageId",
        "check_url": "{base_url}/account/1/balance",
        "ok_path": "messages.0.status.groupName",
        "ok_values": ["PENDING", "DELIVERED"],
        "error_code_path": "requestError.serviceException.messageId|messages.0.status.name",
        "error_path": "requestError.serviceException.text|messages.0.status.description",
        "callback": {
            "signature": "token", "format": "json", "items": "results",
            "report": {"id": "messageId", "status": "status.groupName", "error_code": "error.name",
                       "error": "error.description", "delivered": ["DELIVERED"],
                       "failed": ["UNDELIVERABLE", "EXPIRED", "REJECTED"]},
            "inbound": {"when": "receivedAt", "id": "messageId", "from": "from", "text": "text"},
        },
    },
}

DEFAULT_TEMPORARY = [429, *range(500, 600)]
REPLAY_SECONDS = 300  # hmac-sha256 callbacks older (or newer) than this are refused
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
SECRET_KEYS = {"password", "token", "value", "secret"}


class CallbackRefused(Exception):
    """A callback that is not the provider's (signature, token, age) or not readable: refused, nothing stored.
    ``status`` is the HTTP answer (403 or 400)."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.status = status


def dig(data, path: str):
    """The value at a dotted path of a JSON document ("messages.0.messageId"), or None; "a.b|c.d": the first
    of these paths that holds a value."""
    if not path:
        return None
    if "|" in path:
        return next((value for one in path.split("|") if (value := dig(data, one)) not in (None, "")), None)
    for key in path.split("."):
        if isinstance(data, list) and key.isdigit():
            data = data[int(key)] if int(key) < len(data) else None
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


def _fill(template, values: dict):
    """The template (a string, or a dict / list of them) with its {placeholders} from values; unknown ones stay."""
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, values) for value in template]
    return template


def local_form(e164: str) -> str:
    """+6281234567890 → 081234567890 (the form Indonesian aggregators ask for); other countries stay E.164."""
    return "0" + e164[3:] if e164.startswith("+62") else e164


def _copy(value):
    """A copy of a JSON-shaped value (dicts and lists copied, everything else shared: it is not changed)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _merge(base: dict, override: dict) -> dict:
    merged = _copy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Probe:
    """A message-shaped placeholder for building the check's request headers (nothing is sent)."""

    id, number, text = 0, "+620", ""


class HttpBackend(BaseSmsBackend):
    """Send by one HTTP request per message (several in flight); reports and replies come as callbacks."""

    def __init__(self, name="default", *, preset: str = "", **options):
        if preset and preset not in PRESETS:
            raise ValueError(f"unknown HTTP SMS preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
        config = _merge(PRESETS.get(preset, {}), options)
        self._secrets = {}
        auth = dict(config.get("auth") or {"type": "none"})
        for key in list(auth):  # secrets come from the environment; the options keep only the variable names
            if key.removesuffix("_env") in SECRET_KEYS and key.endswith("_env"):
                self._secrets[key.removesuffix("_env")] = os.environ.get(auth[key] or "", "")
            elif key in SECRET_KEYS:
                self._secrets[key] = auth.pop(key)
        config["auth"] = auth
        callback = dict(config.get("callback") or {})
        self._callback_secret = os.environ.get(callback.get("secret_env", ""), "") if callback.get("secret_env") else ""
        self._callback_token = os.environ.get(config.get("callback_token_env", "SMS_CALLBACK_TOKEN"), "")
        config["callback"] = callback
        super().__init__(name, preset=preset, **config)
        self.config = config
        self.timeout = float(config.get("timeout", 10))
        self.concurrency = max(1, int(config.get("concurrency", 8)))
        self.temporary = set(config.get("temporary_statuses") or DEFAULT_TEMPORARY)
        self._client: httpx.Client | None = None
        self._handed: dict[int, int] = {}  # id(report or inbound) → CallbackEvent pk, until acknowledged
        self._status_at = -1e9  # the polling fallback (poll_status): when it last asked, where it goes on
        self._status_cursor = 0
        self.stats = {"requests": 0, "accepted": 0, "refused": 0, "temporary": 0, "errors": 0}

    # ------------------------------------------------------------ sending

    def open(self):
        if self._client is None:
            # TCP_NODELAY: a request goes out as headers then body, and with Nagle's algorithm the body waits for
            # the peer's delayed ACK (40 ms a request: ~200 messages a second at 8 in flight instead of thousands).
            transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                                            limits=httpx.Limits(max_connections=self.concurrency,
                                                                max_keepalive_connections=self.concurrency))
            self._client = httpx.Client(timeout=self.timeout, transport=transport)
        return True

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def callback_url(self) -> str:
        from django.urls import reverse

        base = str(self.config.get("public_url") or "").rstrip("/")
        return base + reverse("sms:callback", args=[self.name, self._callback_token or "-"])

    @cached_property
    def scalars(self) -> dict:
        """The options that may stand for a {placeholder} (strings and numbers), with the callback URL."""
        values = {k: v for k, v in self.config.items() if isinstance(v, str | int | float)}
        return {**values, "sender": self.config.get("sender", ""), "callback_url": self.callback_url()}

    def _values(self, msg) -> dict:
        number = msg.number
        return {**self.scalars, "to": number, "to_plain": number.removeprefix("+"), "to_local": local_form(number),
                "text": msg.text, "id": msg.id}

    def request_for(self, msg) -> dict:
        """The keyword arguments of httpx.Client.request for one message."""
        values = self._values(msg)
        auth = self.config["auth"]
        headers = dict(_fill(self.config.get("headers") or {}, values))
        body = _fill(self.config.get("body") or {}, values)  # _fill builds a new document
        kwargs = {"method": self.config.get("method", "POST").upper(), "url": _fill(self.config["url"], values)}
        kind = auth.get("type", "none")
        if kind == "basic":
            kwargs["auth"] = (_fill(auth.get("username", ""), values), self._secrets.get("password", ""))
        elif kind == "bearer":
            headers["Authorization"] = f"Bearer {self._secrets.get('token', '')}"
        elif kind == "header":
            headers[auth.get("name", "X-API-Key")] = auth.get("prefix", "") + self._secrets.get("value", "")
        elif kind == "body":
            body[auth.get("field", "apikey")] = self._secrets.get("value", "")
        if kwargs["method"] == "GET":
            kwargs["params"] = body
        elif self.config.get("body_format", "form") == "json":
            kwargs["json"] = body
        else:
            kwargs["data"] = body
        kwargs["headers"] = headers
        return kwargs

    def send_messages(self, messages):
        self.open()
        if len(messages) == 1 or self.concurrency == 1:
            return [self._send_one(msg) for msg in messages]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(messages))) as pool:
            return list(pool.map(self._send_one, messages))

    def _send_one(self, msg) -> SendResult:
        self.stats["requests"] += 1
        try:
            response = self._client.request(**self.request_for(msg))
        except httpx.TimeoutException as error:
            # The request may have reached the provider: retried on this gateway only (handed_over).
            self.stats["errors"] += 1
            return SendResult(msg.id, False, error_code="timeout", temporary=True, handed_over=True,
                              error_reason=f"The SMS provider did not answer in {self.timeout:g} s ({error})"[:255])
        except httpx.HTTPError as error:
            self.stats["errors"] += 1
            sent = not isinstance(error, httpx.ConnectError)  # a refused connection sent nothing
            return SendResult(msg.id, False, error_code="http_error", temporary=True, handed_over=sent,
                              error_reason=f"The SMS provider could not be reached: {error}"[:255])
        return self._result(msg, response)

    def _result(self, msg, response: httpx.Response) -> SendResult:
        try:
            data = response.json()
        except ValueError:
            data = None
        code = dig(data, self.config.get("error_code_path", ""))
        words = dig(data, self.config.get("error_path", ""))
        detail = " ".join(str(part) for part in (code, words) if part not in (None, "")) or response.text[:200]
        if response.status_code in self.temporary:
            self.stats["temporary"] += 1
            return SendResult(msg.id, False, error_code=f"http_{response.status_code}", temporary=True,
                              handed_over=response.status_code >= 500,
                              error_reason=f"The SMS provider answered {response.status_code}: {detail}"[:255])
        ok_path = self.config.get("ok_path")
        ok = 200 <= response.status_code < 300 and (
            not ok_path or str(dig(data, ok_path)) in {str(v) for v in self.config.get("ok_values", [])})
        gateway_id = dig(data, self.config.get("id_path", "")) if ok else None
        if not ok or gateway_id in (None, ""):
            self.stats["refused"] += 1
            reason = detail if ok else f"{response.status_code}: {detail}"
            return SendResult(msg.id, False, error_code=str(code or f"http_{response.status_code}")[:32],
                              error_reason=f"The SMS provider refused the message ({reason})"[:255])
        self.stats["accepted"] += 1
        # The provider splits a long text itself and reports on the whole: one part, under the one id it gave
        # (the message's own count of segments, from our encoder, is what it costs).
        return SendResult(msg.id, True, [str(gateway_id)[:64]])

    def status(self):
        """An HTTP API has no link to hold: up, and the address it sends to (no secret is in it)."""
        url = _fill(self.config.get("url", ""), self.scalars).split("?")[0]
        return True, " ".join(filter(None, ["HTTP API", self.config.get("preset") or "", url]))

    def check(self, timeout: float = 10.0) -> list[tuple[bool, str]]:
        """For ``manage.py sms_gateway_check``: the secrets are set, the provider answers (and accepts them, where
        the preset names an account URL to read), the callback URL answers at its public address. Sends nothing."""
        steps = []
        auth = self.config["auth"]
        missing = [auth[key] for key in auth if key.endswith("_env") and not os.environ.get(auth[key] or "")]
        if auth.get("type", "none") != "none":
            steps.append((not missing, f"no secret: set {', '.join(missing)}" if missing else
                          f"{auth['type']} authentication configured"))
        probe = self.config.get("check_url")
        target = _fill(probe or self.config.get("url", ""), self.scalars)
        with httpx.Client(timeout=timeout) as client:
            kwargs = self.request_for(_Probe())
            try:
                response = client.request("GET" if probe else "HEAD", target, headers=kwargs["headers"],
                                          auth=kwargs.get("auth"))
            except httpx.HTTPError as error:
                steps.append((False, f"{target.split('?')[0]} unreachable: {error}"))
                return steps
            if probe:
                good = response.status_code == 200
                steps.append((good, f"{target.split('?')[0]} answered {response.status_code}"
                               + ("" if good else ": the provider refuses the credentials")))
            else:
                steps.append((True, f"{target.split('?')[0]} reachable (HTTP {response.status_code})"))
            if not self.config.get("public_url"):
                steps.append((False, "no public_url: the provider cannot reach the callback URL (reports, replies)"))
            elif not self._callback_token:
                steps.append((False, "no callback token: set SMS_CALLBACK_TOKEN (or the variable named by "
                                     "callback_token_env)"))
            else:
                from django.urls import reverse

                url = str(self.config["public_url"]).rstrip("/") + reverse("sms:callback", args=[self.name, "probe"])
                try:
                    answer = client.get(url)
                    ours = answer.status_code == 403 and b"token" in answer.content
                    steps.append((ours, f"callback URL {url.rsplit('/', 2)[0]}/… "
                                  + ("answers (from this machine; the provider must reach it from outside)" if ours
                                     else f"answered {answer.status_code}: not this application")))
                except httpx.HTTPError as error:
                    steps.append((False, f"callback URL {url.rsplit('/', 2)[0]}/… unreachable: {error}"))
        return steps

    # ------------------------------------------------------------ callbacks

    def verify_callback(self, request, token: str) -> None:
        """Raise CallbackRefused unless this request is the provider's."""
        if not self._callback_token or not hmac.compare_digest(token.encode(), self._callback_token.encode()):
            raise CallbackRefused("wrong or missing token in the callback URL", 403)
        scheme = self.config["callback"].get("signature", "token")
        if scheme == "twilio":
            given = request.headers.get("X-Twilio-Signature", "")
            url = str(self.config.get("public_url") or "").rstrip("/") + request.get_full_path()
            params = sorted(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
            payload = url + "".join(f"{key}{value}" for key, value in params)
            expected = base64.b64encode(hmac.new(self._callback_secret.encode(), payload.encode(),
                                                 hashlib.sha1).digest()).decode()
            if not given or not hmac.compare_digest(given.encode(), expected.encode()):
                raise CallbackRefused("bad X-Twilio-Signature", 403)
        elif scheme == "hmac-sha256":
            stamp = request.headers.get("X-Timestamp", "")
            given = request.headers.get("X-Signature", "")
            try:
                age = abs(time.time() - int(stamp))
            except ValueError:
                raise CallbackRefused("missing or unreadable X-Timestamp", 403) from None
            if age > REPLAY_SECONDS:
                raise CallbackRefused(f"X-Timestamp {int(age)} s away from now (replay window {REPLAY_SECONDS} s)", 403)
            expected = hmac.new(self._callback_secret.encode(), stamp.encode() + request.body,
                                hashlib.sha256).hexdigest()
            if not given or not hmac.compare_digest(given.encode(), expected.encode()):
                raise CallbackRefused("bad X-Signature", 403)

    def parse_callback(self, request) -> list[dict]:
        """The reports and inbound messages of one callback, as CallbackEvent fields; raises CallbackRefused
        when it cannot be read. Intermediate states ("queued", "sent") are not events."""
        cb = self.config["callback"]
        if cb.get("format", "form") == "json":
            try:
                data = json.loads(request.body or b"null")
            except ValueError as error:
                raise CallbackRefused(f"malformed JSON: {error}") from None
        else:
            data = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)) \
                if request.method == "POST" else request.GET.dict()
        items = dig(data, cb["items"]) if cb.get("items") else [data]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise CallbackRefused("no events where the provider's format puts them")
        events = []
        report, inbound = cb.get("report") or {}, cb.get("inbound") or {}
        for item in items:
            if inbound and dig(item, inbound.get("when", "")) not in (None, ""):
                events.append({"kind": CallbackEvent.Kind.INBOUND,
                               "gateway_message_id": str(dig(item, inbound["id"]) or "")[:150],
                               "number": str(dig(item, inbound["from"]) or "")[:32],
                               "text": str(dig(item, inbound["text"]) or "")})
                continue
            status = str(dig(item, report.get("status", "")) or "")
            gid = str(dig(item, report.get("id", "")) or "")
            if not gid or not status:
                raise CallbackRefused("neither a delivery report nor an inbound message")
            if status in report.get("delivered", []) or status in report.get("failed", []):
                delivered = status in report.get("delivered", [])
                events.append({"kind": CallbackEvent.Kind.REPORT, "gateway_message_id": gid[:150],
                               "delivered": delivered,
                               "error_code": "" if delivered else str(dig(item, report.get("error_code", "")) or status)[:32],
                               "error_reason": "" if delivered else
                               str(dig(item, report.get("error", "")) or f"The SMS provider reports {status}")[:255]})
        return events

    def callback_answer(self) -> tuple[str, str]:
        cb = self.config["callback"]
        return cb.get("answer", "OK"), cb.get("answer_type", "text/plain")

    def poll(self, limit=1000):
        """The stored callbacks of this gateway, oldest first (the worker's transaction holds them: two workers
        never apply the same rows at once on PostgreSQL)."""
        rows = CallbackEvent.objects.filter(gateway=self.name).order_by("id")
        if connection.features.has_select_for_update_skip_locked and transaction.get_connection().in_atomic_block:
            rows = rows.select_for_update(skip_locked=True)
        reports, inbound = [], []
        for event in rows[:limit]:
            if event.kind == CallbackEvent.Kind.REPORT:
                item = DeliveryReport(event.gateway_message_id[:64], event.delivered, event.error_code,
                                      event.error_reason)
                reports.append(item)
            else:
                item = InboundSMS(event.number, event.text, event.gateway_message_id, event.received_at)
                inbound.append(item)
            self._handed[id(item)] = event.pk
        if len(reports) + len(inbound) < limit:
            reports += self.poll_status()
        return reports, inbound

    def poll_status(self) -> list[DeliveryReport]:
        """The polling fallback (option ``status``), for a bureau whose callback URL the provider cannot reach:
        every ``every`` seconds, ask the provider for the state of up to ``limit`` messages sent at least
        ``after`` seconds ago and still without a final report (the last two days), taking them in turn;
        the final states come back as reports, the others are asked again later."""
        from datetime import timedelta

        from django.utils import timezone

        from abah.sms.models import MessagePart

        status = self.config.get("status") or {}
        if not status.get("enabled", True) or not status.get("url") or time.monotonic() - self._status_at < float(status.get("every", 60)):
            return []
        self._status_at = time.monotonic()
        now = timezone.now()
        waiting = MessagePart.objects.filter(
            gateway=self.name, status=MessagePart.Status.SENT, updated_at__gt=now - timedelta(hours=48),
            updated_at__lte=now - timedelta(seconds=float(status.get("after", 30))))
        limit = int(status.get("limit", 100))
        parts = list(waiting.filter(pk__gt=self._status_cursor).order_by("pk").values_list("pk", "gateway_message_id")
                     [:limit])
        if not parts and self._status_cursor:  # the end of a round: the next one starts now
            parts = list(waiting.order_by("pk").values_list("pk", "gateway_message_id")[:limit])
        self._status_cursor = parts[-1][0] if len(parts) == limit else 0  # next time on from here, or round again
        if not parts:
            return []
        self.open()
        report = self.config["callback"].get("report") or {}
        probe = self.request_for(_Probe())
        headers, auth = probe["headers"], probe.get("auth")

        def ask(gateway_id: str) -> DeliveryReport | None:
            try:
                response = self._client.get(_fill(status["url"], {**self.scalars, "gateway_id": gateway_id}),
                                            headers=headers, auth=auth)
                data = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                return None  # asked again on a later round
            state = str(dig(data, status.get("status_path", "status")) or "")
            if state in report.get("delivered", []):
                return DeliveryReport(gateway_id, True)
            if state in report.get("failed", []):
                return DeliveryReport(gateway_id, False,
                                      str(dig(data, status.get("error_code_path", "")) or state)[:32],
                                      str(dig(data, status.get("error_path", "")) or
                                          f"The SMS provider reports {state}")[:255])
            return None

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(parts))) as pool:
            found = [r for r in pool.map(ask, [gid for _pk, gid in parts]) if r is not None]
        log.info("gateway %s: asked the provider for %d message state(s), %d final", self.name, len(parts),
                 len(found))
        return found

    def acknowledge(self, reports, inbound):
        ids = [self._handed.pop(id(item)) for item in [*reports, *inbound] if id(item) in self._handed]
        if ids:
            CallbackEvent.objects.filter(pk__in=ids).delete()

    def release(self, reports, inbound):
        for item in [*reports, *inbound]:
            self._handed.pop(id(item), None)  # the rows stay: the next poll reads them again
