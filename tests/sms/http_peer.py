"""What every local HTTP SMS provider peer of the tests shares: a threaded server on 127.0.0.1 whose GET and POST
go to the subclass's ``get`` and ``post``, JSON answers, a record of the callbacks it made (what, our answer's
HTTP status) and a bounded wait for them."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class HttpPeer:
    def __init__(self):
        self.callbacks: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                peer.post(self)

            def do_GET(self):  # noqa: N802 (http.server API)
                peer.get(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self._client = httpx.Client(timeout=10)

    def post(self, handler):
        raise NotImplementedError

    def get(self, handler):
        raise NotImplementedError

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._client.close()

    @staticmethod
    def answer(handler, status: int, body: dict):
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def record(self, what: str, send) -> int:
        """Make one callback (``send()`` returns the response) and record our answer's status (0: no answer)."""
        try:
            status = send().status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.callbacks.append((what, status))
        return status

    def wait(self, count: int, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.callbacks) >= count:
                    return True
            time.sleep(0.02)
        return False
