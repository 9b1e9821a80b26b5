"""A tiny HTTP server that serves chosen bytes as jlis's CRL (``/crl/sign.crl``, any path in fact): feeds the idp's
lifecycle sweep a CRL over real HTTP. Used by the lifecycle tests (a bad or an older CRL) and by
benchmarks/bench_sweep.py (a CRL of 100,000 entries).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def serving_crl(body: bytes) -> Iterator[str]:
    """A local HTTP server answering ``/crl/sign.crl`` with ``body``; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
