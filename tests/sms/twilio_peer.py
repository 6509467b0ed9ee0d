"""A local peer that follows Twilio's published Messages API contract, on 127.0.0.1, for the http backend's tests.

- ``POST /2010-04-01/Accounts/<AccountSid>/Messages.json`` (form: To, From, Body, StatusCallback), HTTP basic
  auth with the Account SID and Auth Token: 201 with the Message resource (``sid`` "SM" + 32 hex, ``status``
  "queued", ``num_segments``); errors as Twilio answers them, JSON ``{"code", "message", "more_info",
  "status"}``: 401 / 20003 (authentication), 400 / 21211 (invalid To), 429 / 20429 (over ``rate`` requests in
  one second), 500 when told to fail.
- The StatusCallback: form posts with MessageSid, SmsSid, MessageStatus ("sent", then "delivered"; or
  "undelivered" with ErrorCode 30003 for numbers ending in 0000), AccountSid, From, To, ApiVersion, signed with
  X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + the fields sorted by name, name and value
  concatenated)). ``duplicate`` repeats every callback; ``reverse`` sends "delivered" before "sent".
- ``GET /2010-04-01/Accounts/<AccountSid>.json``: the Account resource (200, or 401 / 20003), which
  ``sms_gateway_check`` reads to know the credentials are right.
- ``GET /2010-04-01/Accounts/<AccountSid>/Messages/<sid>.json``: the Message resource with its current
  ``status`` (and ``error_code`` / ``error_message``), for the polling fallback; ``push = False`` sends no
  callbacks (a callback URL out of the provider's reach) while the states still change.
- ``inbound(from_, body)``: an incoming-message webhook (MessageSid, From, To, Body, NumSegments, SmsStatus
  "received"), signed the same way, to ``incoming_url``.
"""

import base64
import hashlib
import hmac
import re
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlencode

from tests.sms.http_peer import HttpPeer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_signature(token: str, url: str, params: dict) -> str:
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class TwilioPeer(HttpPeer):
    def __init__(self, account="AC" + "0" * 32, token="peer-auth-token", *, rate=0, delay=0.05, duplicate=False,  # noqa: S107
                 reverse=False):
        super().__init__()
        self.account, self.token, self.rate, self.delay = account, token, rate, delay
        self.duplicate, self.reverse = duplicate, reverse
        self.push = True  # False: the callback URL is out of reach (the message states still change)
        self.fail_next = 0  # answer 500 to this many requests
        self.incoming_url = ""
        self.messages: list[dict] = []  # every accepted message, in order
        self._second, self._count = 0, 0

    def post(self, handler):
        self._handle(handler)

    def get(self, handler):  # the Account and Message resources
        self._account(handler)

    # ------------------------------------------------------------ the Messages API

    def _error(self, handler, status: int, code: int, message: str):
        self.answer(handler, status, {"code": code, "message": message, "status": status,
                                       "more_info": f"https://www.twilio.com/docs/errors/{code}"})

    def _authorised(self, handler) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        return handler.headers.get("Authorization") == expected

    def _account(self, handler):
        prefix = f"/2010-04-01/Accounts/{self.account}/Messages/"
        if handler.path.startswith(prefix) and handler.path.endswith(".json"):
            if not self._authorised(handler):
                return self._error(handler, 401, 20003, "Authenticate")
            sid = handler.path[len(prefix):-len(".json")]
            with self._lock:
                found = next((dict(m) for m in self.messages if m["sid"] == sid), None)
            if found is None:
                return self._error(handler, 404, 20404, f"The requested resource {handler.path} was not found")
            return self.answer(handler, 200, found)
        if handler.path != f"/2010-04-01/Accounts/{self.account}.json":
            return self._error(handler, 404, 20404, "The requested resource was not found")
        if not self._authorised(handler):
            return self._error(handler, 401, 20003, "Authenticate")
        return self.answer(handler, 200, {"sid": self.account, "status": "active", "type": "Full"})

    def _handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(handler.rfile.read(length).decode(), keep_blank_values=True))
        if handler.path != f"/2010-04-01/Accounts/{self.account}/Messages.json":
            return self._error(handler, 404, 20404, "The requested resource was not found")
        if not self._authorised(handler):
            return self._error(handler, 401, 20003, "Authenticate")
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                return self._error(handler, 500, 20500, "Internal Server Error")
            now = int(time.monotonic())
            if now != self._second:
                self._second, self._count = now, 0
            self._count += 1
            if self.rate and self._count > self.rate:
                return self._error(handler, 429, 20429, "Too Many Requests")
        to = form.get("To", "")
        if not E164.match(to):
            return self._error(handler, 400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("Body"):
            return self._error(handler, 400, 21602, "Message body is required.")
        sid = "SM" + uuid.uuid4().hex
        segments = 1 if len(form["Body"]) <= 160 else -(-len(form["Body"]) // 153)
        message = {"sid": sid, "account_sid": self.account, "to": to, "from": form.get("From", ""),
                   "body": form["Body"], "status": "queued", "num_segments": str(segments),
                   "error_code": None, "error_message": None, "api_version": "2010-04-01",
                   "uri": f"/2010-04-01/Accounts/{self.account}/Messages/{sid}.json"}
        with self._lock:
            self.messages.append(message)
        self.answer(handler, 201, message)
        callback = form.get("StatusCallback") if self.push else None
        threading.Thread(target=self._report, args=(callback, message), daemon=True).start()

    # ------------------------------------------------------------ callbacks

    def _post(self, url: str, params: dict, what: str, *, signature: str | None = None):
        headers = {"X-Twilio-Signature": signature or twilio_signature(self.token, url, params),
                   "Content-Type": "application/x-www-form-urlencoded"}
        status = 0
        for _ in range(2 if self.duplicate else 1):
            status = self.record(what, lambda: self._client.post(url, content=urlencode(params), headers=headers))
        return status

    def _report(self, url: str, message: dict):
        time.sleep(self.delay)
        final = "undelivered" if message["to"].endswith("0000") else "delivered"
        states = ["sent", final]
        if self.reverse:
            states.reverse()
        for state in states:
            with self._lock:
                if not (self.reverse and state == "sent"):
                    message["status"] = state
                    if state == "undelivered":
                        message["error_code"], message["error_message"] = 30003, "Unreachable destination handset"
            if not url:
                continue
            params = {"MessageSid": message["sid"], "SmsSid": message["sid"], "MessageStatus": state,
                      "SmsStatus": state, "AccountSid": self.account, "From": message["from"], "To": message["to"],
                      "ApiVersion": "2010-04-01"}
            if state == "undelivered":
                params["ErrorCode"] = "30003"
            self._post(url, params, state)

    def inbound(self, from_: str, body: str, *, sid: str = "", signature: str | None = None) -> int:
        params = {"MessageSid": sid or "SM" + uuid.uuid4().hex, "SmsSid": sid, "AccountSid": self.account,
                  "From": from_, "To": "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1",
                  "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        return self._post(self.incoming_url, params, "inbound", signature=signature)
