"""A local peer that follows Infobip's published SMS API (v2 "advanced" send, delivery-report and inbound
webhooks), on 127.0.0.1, for the http backend's tests.

- ``POST /sms/2/text/advanced`` (JSON ``{"messages": [{"destinations": [{"to"}], "from", "text", "notifyUrl",
  "notifyContentType", "callbackData"}]}``) with ``Authorization: App <key>``: 200 ``{"bulkId", "messages":
  [{"to", "messageId", "status": {"groupId": 1, "groupName": "PENDING", "name": "PENDING_ACCEPTED", …}}]}``; a
  destination that is not a number: 200 with status group "REJECTED" ("REJECTED_DESTINATION"); errors
  ``{"requestError": {"serviceException": {"messageId", "text"}}}``: 401 UNAUTHORIZED, 400 BAD_REQUEST.
- ``GET /account/1/balance``: ``{"balance", "currency"}`` (401 without the key).
- The delivery report, posted as JSON to the notifyUrl: ``{"results": [{"bulkId", "messageId", "to", "sentAt",
  "doneAt", "smsCount", "status": {"groupName": "DELIVERED", "name": "DELIVERED_TO_HANDSET", …}, "error":
  {"name": "NO_ERROR", …}, "callbackData"}]}``; numbers ending in 0000: "UNDELIVERABLE" /
  "EC_ABSENT_SUBSCRIBER".
- ``inbound(from_, text)``: the forwarded inbound message ``{"results": [{"messageId", "from", "to", "text",
  "cleanText", "keyword", "receivedAt", "smsCount"}], "messageCount": 1, "pendingMessageCount": 0}``.
"""

import json
import re
import threading
import time
import uuid

from tests.sms.http_peer import HttpPeer

NUMBER = re.compile(r"^[1-9]\d{6,14}$")


class InfobipPeer(HttpPeer):
    def __init__(self, key="peer-api-key", *, delay=0.05):
        super().__init__()
        self.key, self.delay = key, delay
        self.forward_url = ""
        self.messages: list[dict] = []

    def get(self, handler):
        self._balance(handler)

    def post(self, handler):
        self._send(handler)

    def _error(self, handler, status, code, text):
        self.answer(handler, status, {"requestError": {"serviceException": {"messageId": code, "text": text}}})

    def _authorised(self, handler) -> bool:
        return handler.headers.get("Authorization") == f"App {self.key}"

    def _balance(self, handler):
        if handler.path != "/account/1/balance":
            return self._error(handler, 404, "NOT_FOUND", "Not found")
        if not self._authorised(handler):
            return self._error(handler, 401, "UNAUTHORIZED", "Invalid login details")
        return self.answer(handler, 200, {"balance": 47.79, "currency": "EUR"})

    def _send(self, handler):
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if handler.path != "/sms/2/text/advanced":
            return self._error(handler, 404, "NOT_FOUND", "Not found")
        if not self._authorised(handler):
            return self._error(handler, 401, "UNAUTHORIZED", "Invalid login details")
        try:
            request = json.loads(body)
            message = request["messages"][0]
            to = message["destinations"][0]["to"]
            text = message["text"]
        except (ValueError, KeyError, IndexError, TypeError):
            return self._error(handler, 400, "BAD_REQUEST", "Bad request")
        bulk = uuid.uuid4().hex
        if not NUMBER.match(to):
            return self.answer(handler, 200, {"bulkId": bulk, "messages": [{"to": to, "status": {
                "groupId": 5, "groupName": "REJECTED", "id": 51, "name": "REJECTED_DESTINATION",
                "description": "Invalid destination address"}}]})
        message_id = uuid.uuid4().hex
        record = {"to": to, "from": message.get("from"), "text": text, "messageId": message_id, "bulkId": bulk,
                  "callbackData": message.get("callbackData")}
        with self._lock:
            self.messages.append(record)
        self.answer(handler, 200, {"bulkId": bulk, "messages": [{"to": to, "messageId": message_id, "status": {
            "groupId": 1, "groupName": "PENDING", "id": 26, "name": "PENDING_ACCEPTED",
            "description": "Message sent to next instance"}}]})
        if message.get("notifyUrl"):
            threading.Thread(target=self._report, args=(message["notifyUrl"], record), daemon=True).start()

    def _post(self, url, body, what):
        return self.record(what, lambda: self._client.post(url, json=body))

    def _report(self, url, record):
        time.sleep(self.delay)
        dead = record["to"].endswith("0000")
        status = ({"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9, "name": "UNDELIVERABLE_NOT_DELIVERED",
                   "description": "Message sent not delivered"} if dead else
                  {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET",
                   "description": "Message delivered to handset"})
        error = ({"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 27, "name": "EC_ABSENT_SUBSCRIBER",
                  "description": "Absent Subscriber", "permanent": False} if dead else
                 {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "description": "No Error",
                  "permanent": False})
        self._post(url, {"results": [{"bulkId": record["bulkId"], "messageId": record["messageId"],
                                      "to": record["to"], "sentAt": "2026-12-03T08:00:00.000+0000",
                                      "doneAt": "2026-12-03T08:00:01.000+0000", "smsCount": 1,
                                      "status": status, "error": error,
                                      "callbackData": record["callbackData"]}]}, status["groupName"])

    def inbound(self, from_: str, text: str, *, message_id: str = "") -> int:
        return self._post(self.forward_url, {"results": [{
            "messageId": message_id or uuid.uuid4().hex, "from": from_, "to": "6281100000001", "text": text,
            "cleanText": text, "keyword": "", "receivedAt": "2026-12-03T08:05:00.000+0000", "smsCount": 1}],
            "messageCount": 1, "pendingMessageCount": 0}, "inbound")
