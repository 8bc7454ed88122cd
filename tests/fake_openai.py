"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (never the real API).

Speaks POST /v1/chat/completions with the OpenAI response shape (including `usage`), records
every request, and is scriptable per test: `fake.reply(Scripted(...), ...)` queues answers
(status, headers such as Retry-After, raw body or assistant content, delay); with the queue
empty it answers a deterministic judge verdict: score 1 if the text between <<<OUTPUT and
OUTPUT>>> appears inside the <<<CONTEXT block, else 0 (1 when there is no context).

One thread per connection (ThreadingHTTPServer, HTTP/1.1 keep-alive, a deep listen backlog),
so 32+ concurrent requests each sleeping `latency` seconds overlap instead of queueing.

    python -m tests.fake_openai --latency 0.2     # serve until killed; prints the base URL
"""

from __future__ import annotations

import argparse
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAKE_JUDGE_KEY = "sk-fake-judge-key-0123456789abcdef"

_BLOCK = r"<<<{tag}\n(.*?)\n{tag}>>>"


@dataclass
class Scripted:
    """One scripted answer. `body` (raw text) wins over `content` (the assistant message)."""

    status: int = 200
    content: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a value above the client timeout = a hang)
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float  # time.monotonic() when it arrived

    @property
    def user_text(self) -> str:
        """All message contents, joined (what the judge was shown)."""
        messages = (self.body or {}).get("messages") or []
        return "\n".join(str(m.get("content") or "") for m in messages)


def judge_verdict(user_text: str) -> dict[str, Any]:
    """The default verdict: is the OUTPUT block found inside the CONTEXT block?"""
    output = re.search(_BLOCK.format(tag="OUTPUT"), user_text, re.DOTALL)
    context = re.search(_BLOCK.format(tag="CONTEXT"), user_text, re.DOTALL)
    if output is None or context is None:
        return {"reason": "nothing to compare", "score": 1.0, "label": "pass"}
    found = output.group(1).strip() in context.group(1)
    return {
        "reason": "the output is in the context" if found else "the output is not in the context",
        "score": 1.0 if found else 0.0,
        "label": "pass" if found else "fail",
    }


@dataclass
class FakeOpenAI:
    """State and behaviour of the fake; the HTTP plumbing is in `fake_openai_server`."""

    base_url: str = ""
    api_key: str = FAKE_JUDGE_KEY
    latency: float = 0.0  # added to every answer
    reject_response_format: bool = False  # 400 on any request with response_format
    usage: tuple[int, int] | None = None  # fixed usage; default: ~chars/4 of prompt and reply
    requests: list[RecordedRequest] = field(default_factory=list)
    script: deque[Scripted] = field(default_factory=deque)
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, *answers: Scripted) -> None:
        with self._lock:
            self.script.extend(answers)

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[Scripted, bytes]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        request = RecordedRequest(path, headers, body, time.monotonic())
        with self._lock:
            self.requests.append(request)
            scripted = self.script.popleft() if self.script else None
        if scripted is not None:
            if scripted.body is not None:
                return scripted, scripted.body.encode()
            if scripted.status != 200:
                return scripted, _error_body(f"scripted HTTP {scripted.status}", "server_error")
            return scripted, self._completion(body, scripted.content or "", scripted.usage)
        if not path.rstrip("/").endswith("/chat/completions"):
            return Scripted(status=404), _error_body("unknown path", "not_found")
        if headers.get("authorization") != f"Bearer {self.api_key}":
            # like some real servers, echo what was sent: the client must scrub it
            sent = headers.get("authorization", "").removeprefix("Bearer ")
            return Scripted(status=401), _error_body(
                f"Incorrect API key provided: {sent}", "invalid_api_key"
            )
        if body is None or not body.get("messages"):
            return Scripted(status=400), _error_body("messages is required", "invalid_request")
        if self.reject_response_format and "response_format" in body:
            return Scripted(status=400), _error_body(
                "response_format json_schema is not supported by this model", "invalid_request"
            )
        content = json.dumps(judge_verdict(request.user_text))
        return Scripted(), self._completion(body, content, None)

    def _completion(
        self, body: dict[str, Any] | None, content: str, usage: tuple[int, int] | None
    ) -> bytes:
        body = body or {}
        with self._lock:
            number = len(self.requests)
        if usage is None:
            usage = self.usage
        if usage is None:
            prompt_chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
            usage = (math.ceil(prompt_chars / 4), math.ceil(len(content) / 4))
        return json.dumps(
            {
                "id": f"chatcmpl-fake-{number}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", "fake-judge"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": usage[0],
                    "completion_tokens": usage[1],
                    "total_tokens": usage[0] + usage[1],
                },
            }
        ).encode()


def _error_body(message: str, code: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "error", "code": code}}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 32+ clients connect at once: the default backlog (5) drops SYNs


@contextmanager
def fake_openai_server(latency: float = 0.0) -> Iterator[FakeOpenAI]:
    """Start the fake on a free port; `fake.base_url` ends in /v1."""
    fake = FakeOpenAI(latency=latency)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real endpoints
        # headers and body go out in two writes: with Nagle on, the body waits for the
        # client's delayed ACK (~40 ms per request). Real servers set TCP_NODELAY too.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake._lock:
                fake.in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            try:
                scripted, out = fake.handle(self.path, headers, raw)
                pause = fake.latency + scripted.delay
                if pause > 0:
                    time.sleep(pause)
                self.send_response(scripted.status)
                self.send_header("Content-Type", "application/json")
                for key, value in scripted.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (its timeout): fine
            finally:
                with fake._lock:
                    fake.in_flight -= 1

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    args = parser.parse_args()
    with fake_openai_server(latency=args.latency) as fake:
        print(fake.base_url, flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
