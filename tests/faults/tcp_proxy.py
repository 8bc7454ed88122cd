"""A TCP proxy on 127.0.0.1 that can cut its connections mid-stream: a warehouse connection
dropped in the middle of a read, through the real driver."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class CuttingProxy:
    """Forwards to (host, port); once `arm(n)` is called, the server->client direction of
    every connection closes after `n` more bytes."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._budget: int | None = None
        self._lock = threading.Lock()
        self.cuts = 0
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, after_bytes: int) -> None:
        with self._lock:
            self._budget = after_bytes

    def disarm(self) -> None:
        with self._lock:
            self._budget = None

    def _take(self, n: int) -> int:
        """How many of `n` bytes may pass; 0 means cut now."""
        with self._lock:
            if self._budget is None:
                return n
            allowed = min(n, self._budget)
            self._budget -= allowed
            return allowed

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, downstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if downstream:
                    allowed = self._take(len(data))
                    if allowed < len(data):
                        sink.sendall(data[:allowed])
                        self.cuts += 1
                        raise ConnectionResetError("cut by the proxy")
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self.listener.close()
        for sock in self._conns:
            with suppress(OSError):
                sock.close()


@contextmanager
def cutting_proxy(host: str, port: int) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(host, port)
    try:
        yield proxy
    finally:
        proxy.close()
