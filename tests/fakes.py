"""Real HTTP servers on 127.0.0.1 that speak the APIs Lookout calls (never the real hosts)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN


@dataclass
class FakeSlack:
    """Slack Web API subset: chat.postMessage, chat.update, and an incoming webhook at
    /webhook. `script` holds status codes to answer first; `down` answers 503 to everything
    (an outage)."""

    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    webhook: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            status = self.script.pop(0) if self.script else 200
            if self.down:
                status = 503
        if status == 429:
            return 429, {"Retry-After": "1"}, b'{"ok": false, "error": "ratelimited"}'
        if status >= 500:
            return status, {}, b"upstream error"
        if path.endswith("/webhook"):
            with self._lock:
                self.webhook.append(json.loads(body or b"{}"))
            return 200, {}, b"ok"
        if headers.get("authorization") != f"Bearer {FAKE_SLACK_TOKEN}":
            return 200, {}, b'{"ok": false, "error": "invalid_auth"}'
        if path.endswith("/chat.postMessage"):
            payload = json.loads(body or b"{}")
            if not payload.get("channel"):
                return 200, {}, b'{"ok": false, "error": "channel_not_found"}'
            with self._lock:
                ts = f"1700000000.{len(self.posted) + 1:06d}"
                self.posted.append({**payload, "channel_id": "C1", "ts": ts})
            return 200, {}, json.dumps({"ok": True, "channel": "C1", "ts": ts}).encode()
        if path.endswith("/chat.update"):
            payload = json.loads(body or b"{}")
            known = {(p["channel_id"], p["ts"]) for p in self.posted}
            if (payload.get("channel"), payload.get("ts")) not in known:
                return 200, {}, b'{"ok": false, "error": "message_not_found"}'
            with self._lock:
                self.updated.append(payload)
            return 200, {}, json.dumps({"ok": True, "ts": payload["ts"]}).encode()
        return 200, {}, b'{"ok": false, "error": "unknown_method"}'


@contextmanager
def fake_slack_server() -> Iterator[FakeSlack]:
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, out = fake.handle(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
