"""An HTTP forward proxy that records every exchange passing through it, for tests that must show what one server
received from the others (``HTTP_PROXY`` in that server's environment: ``requests`` sends every outgoing call
through it). It can also hold the answer to a chosen request — forwarded, answered by the target, but not yet
passed back — so a test can kill the caller in exactly that window.

Plain HTTP only (the interop parties speak HTTP on the loopback); nothing here imports Django.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade"}  # fmt: skip


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


class RecordingProxy:
    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._hold: Callable[[str, str], bool] | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                proxy.forward(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    @contextmanager
    def holding(self, predicate: Callable[[str, str], bool]) -> Iterator[RecordingProxy]:
        """Hold the answer to the first request (method, url) matching ``predicate`` until the block ends."""
        self.held.clear()
        self.release.clear()
        self._hold = predicate
        try:
            yield self
        finally:
            self._hold = None
            self.release.set()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        url = handler.path
        parts = urlsplit(url)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {name: value for name, value in handler.headers.items() if name.lower() not in HOP_BY_HOP}
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(handler.command, target or "/", body=body or None, headers=headers)
            answer = connection.getresponse()
            answer_body = answer.read()
            answer_headers = {name: value for name, value in answer.getheaders() if name.lower() not in HOP_BY_HOP}
            status = answer.status
        except OSError:
            handler.send_error(502)
            return
        finally:
            connection.close()
        with self._lock:
            self.exchanges.append(Exchange(handler.command, url, headers, body, status, answer_headers, answer_body))
        hold = self._hold
        if hold is not None and hold(handler.command, url):
            self._hold = None
            self.held.set()
            self.release.wait(timeout=120)
        try:
            handler.send_response(status)
            for name, value in answer_headers.items():
                if name.lower() != "content-length":
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(answer_body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(answer_body)
        except OSError:  # the caller is gone (killed while its answer was held)
            pass
