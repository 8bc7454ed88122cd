"""`lookout reports serve`: the reports folder over HTTP on 127.0.0.1, for local review."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["make_server"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(directory: Path, port: int = 8765, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for `directory` (port 0 picks a free one); call `serve_forever()` on it."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)
