"""A PagerDuty Events API v2 endpoint on 127.0.0.1 that records what reaches it.

Like PagerDuty: POST /v2/enqueue takes a JSON event, answers 202 with the dedup key, and 400
with `message` and `errors` for an event it cannot take (a routing key that is not 32
characters, an unknown action, a trigger without summary/source/severity). Knobs: `script`
holds answers to give first, each a status code or (status, headers) — e.g.
`(429, {"Retry-After": "1"})`, 500, 400; `hang` holds the next N requests without an answer
until the client gives up (their events are recorded: PagerDuty may have taken them).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")


@dataclass
class FakePagerDuty:
    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)  # every event received
    accepted: list[dict[str, Any]] = field(default_factory=list)  # those answered 202
    times: list[float] = field(default_factory=list)  # monotonic time of each request
    bodies: list[bytes] = field(default_factory=list)
    script: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    hang: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)

    def handle(self, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        with self._lock:
            self.times.append(time.monotonic())
            self.bodies.append(body)
            try:
                event = json.loads(body)
            except ValueError:
                return 400, {}, {"status": "invalid event", "message": "Event object is invalid"}
            self.events.append(event)
            scripted = self.script.pop(0) if self.script else None
            hang = self.hang > 0
            self.hang -= 1 if hang else 0
        if hang:
            self._release.wait(30)
            return None
        if scripted is not None:
            status, headers = scripted if isinstance(scripted, tuple) else (scripted, {})
            if status == 400:
                return 400, headers, _invalid(["scripted refusal"])
            return status, headers, {"status": "error", "message": f"scripted {status}"}
        errors = _problems(event)
        if errors:
            return 400, {}, _invalid(errors)
        with self._lock:
            self.accepted.append(event)
        key = event.get("dedup_key", "generated")
        return 202, {}, {"status": "success", "message": "Event processed", "dedup_key": key}


def _invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


def _problems(event: dict[str, Any]) -> list[str]:
    errors = []
    if len(str(event.get("routing_key", ""))) != 32:
        errors.append("'routing_key' must be 32 characters")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid")
    if action != "trigger" and not event.get("dedup_key"):
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        payload = event.get("payload") or {}
        for key in ("summary", "source", "severity"):
            if not payload.get(key):
                errors.append(f"'payload.{key}' is missing or blank")
        if len(str(payload.get("summary", ""))) > 1024:
            errors.append("'payload.summary' is longer than 1024 characters")
        if payload.get("severity") not in ("critical", "error", "warning", "info"):
            errors.append("'payload.severity' is invalid")
    return errors


@contextmanager
def fake_pagerduty_server() -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            answer = fake.handle(self.rfile.read(length))
            if answer is None:
                self.close_connection = True
                return
            status, headers, body = answer
            out = json.dumps(body).encode()
            with suppress(OSError):  # a client that timed out has gone
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v2/enqueue"
    try:
        yield fake
    finally:
        fake._release.set()
        server.shutdown()
        server.server_close()
