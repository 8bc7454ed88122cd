"""Real HTTP servers on 127.0.0.1 that speak the APIs Lookout calls (never the real hosts)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN


@dataclass
class FakeSlack:
    """Slack Web API subset: chat.postMessage, chat.update, conversations.history, .replies and
    .list, and an incoming webhook at /webhook. Parameters come as JSON or form bodies (slack-sdk
    sends chat.* as JSON, conversations.* as form data) or a query string.

    Like Slack: a post's ts is the current time (strictly increasing), its metadata is kept and
    returned by conversations.history/.replies only with include_all_metadata, `oldest`/`latest`
    bound the ts range, listings are cursor-paginated. Knobs: `script` holds status codes to
    answer first; `down` answers 503 to everything (an outage); `stall` accepts and records the
    next N posts, then holds their answers until the server stops (the client times out after
    Slack accepted the message); `drop` accepts and records the next N posts, then closes the
    connection without an answer; `lookup_error` answers conversations.* with that error (e.g.
    missing_scope); `page_size` caps every page of a listing."""

    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    webhook: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    stall: int = 0
    drop: int = 0
    lookup_error: str | None = None
    page_size: int | None = None
    # name -> id; a post to another name creates it (this fake accepts every channel)
    channels: dict[str, str] = field(
        default_factory=lambda: {"support-ml-alerts": "C1", "team": "C2", "fallback": "C3"}
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)
    _last_ts: float = 0.0

    def calls(self, method: str) -> int:
        """How many requests reached `method` (e.g. "chat.postMessage")."""
        with self._lock:
            return sum(1 for r in self.requests if r["method"] == method)

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(path)
        method = url.path.rsplit("/", 1)[-1]
        with self._lock:
            self.requests.append({"path": path, "method": method, "headers": headers, "body": body})
            status = self.script.pop(0) if self.script else 200
            if self.down:
                status = 503
        if status == 429:
            return 429, {"Retry-After": "1"}, b'{"ok": false, "error": "ratelimited"}'
        if status >= 500:
            return status, {}, b"upstream error"
        if method == "webhook":
            with self._lock:
                self.webhook.append(json.loads(body or b"{}"))
            return 200, {}, b"ok"
        if headers.get("authorization") != f"Bearer {FAKE_SLACK_TOKEN}":
            return _answer({"ok": False, "error": "invalid_auth"})
        params = _params(url.query, headers, body)
        if method.startswith("conversations.") and self.lookup_error:
            refusal: dict[str, Any] = {"ok": False, "error": self.lookup_error}
            if self.lookup_error == "missing_scope":  # Slack names the scope it needs
                refusal["needed"] = (
                    "channels:read" if method.endswith("list") else "channels:history"
                )
            return _answer(refusal)
        handler: Any = {
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.list": self._list,
        }.get(method)
        if handler is None:
            return _answer({"ok": False, "error": "unknown_method"})
        answer = handler(params)
        return (0, {}, b"") if answer is None else _answer(answer)  # 0: hang up, no answer

    def _post(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        channel_id = self._channel_id(str(params["channel"]))
        with self._lock:
            self._last_ts = max(round(time.time(), 6), round(self._last_ts + 0.000001, 6))
            ts = f"{self._last_ts:.6f}"
            self.posted.append({**params, "channel_id": channel_id, "ts": ts})
            stall = self.stall > 0
            drop = not stall and self.drop > 0
            self.stall -= 1 if stall else 0
            self.drop -= 1 if drop else 0
        if stall:  # accepted and recorded; the answer comes too late (or never)
            self._release.wait(60)
        if drop:
            return None
        return {"ok": True, "channel": channel_id, "ts": ts}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        known = {(p["channel_id"], p["ts"]) for p in self.posted}
        if (params.get("channel"), params.get("ts")) not in known:
            return {"ok": False, "error": "message_not_found"}
        with self._lock:
            self.updated.append(params)
        return {"ok": True, "ts": params["ts"]}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if channel not in self.channels.values():
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            top = [p for p in self.posted if p["channel_id"] == channel and "thread_ts" not in p]
        found = [_message(p, params) for p in reversed(top) if _in_range(p["ts"], params)]
        return self._page(params, "messages", found)

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        with self._lock:
            posted = [p for p in self.posted if p["channel_id"] == channel]
        parent = [p for p in posted if p["ts"] == ts and "thread_ts" not in p]
        if not parent:
            return {"ok": False, "error": "thread_not_found"}
        replies = [p for p in posted if p.get("thread_ts") == ts and _in_range(p["ts"], params)]
        return self._page(params, "messages", [_message(p, params) for p in parent + replies])

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            listed = [{"id": i, "name": n, "is_channel": True} for n, i in self.channels.items()]
        return self._page(params, "channels", listed)

    def _page(self, params: dict[str, Any], key: str, items: list[Any]) -> dict[str, Any]:
        start = int(params.get("cursor") or 0)
        size = min(int(params.get("limit") or 100), self.page_size or 1000)
        end = start + size
        more = end < len(items)
        return {
            "ok": True,
            key: items[start:end],
            "has_more": more,
            "response_metadata": {"next_cursor": str(end) if more else ""},
        }

    def _channel_id(self, channel: str) -> str:
        name = channel.removeprefix("#")
        with self._lock:
            if name in self.channels.values():
                return name
            return self.channels.setdefault(name, f"C{len(self.channels) + 1}")


def _params(query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query))
    if headers.get("content-type", "").startswith("application/json"):
        params.update(json.loads(body or b"{}"))
    else:
        params.update(parse_qsl(body.decode()))
        if isinstance(params.get("metadata"), str):
            params["metadata"] = json.loads(params["metadata"])
    return params


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _in_range(ts: str, params: dict[str, Any]) -> bool:
    inclusive = _flag(params.get("inclusive"))
    value = float(ts)
    oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")
    if inclusive:
        return oldest <= value <= latest
    return oldest < value < latest


def _message(posted: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    message = {"type": "message", "bot_id": "B0LOOKOUT", "ts": posted["ts"]}
    message["text"] = posted.get("text", "")
    if "thread_ts" in posted:
        message["thread_ts"] = posted["thread_ts"]
    if "metadata" in posted and _flag(params.get("include_all_metadata")):
        message["metadata"] = posted["metadata"]
    return message


def _answer(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, json.dumps(data).encode()


@contextmanager
def fake_slack_server() -> Iterator[FakeSlack]:
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, out = fake.handle(self.path, headers, body)
            if status == 0:
                self.close_connection = True
                return
            with suppress(OSError):  # a client that timed out has gone
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    try:
        yield fake
    finally:
        fake._release.set()  # stalled answers go out (to clients long gone)
        server.shutdown()
        server.server_close()


def outbox_files(directory) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """What the file outbox wrote, oldest first: one dict per delivery with its kind, role
    (post, reply, edit), target, message id and the rendered payload."""
    from pathlib import Path

    return [json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))]
