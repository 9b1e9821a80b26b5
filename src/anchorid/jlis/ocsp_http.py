"""OCSP over HTTP (RFC 6960 Appendix A), shared by the thin WSGI path and the Django view.

``POST /ocsp/<kind>`` with the DER request as body, or ``GET /ocsp/<kind>/<base64 of the DER request>``
(``kind`` = ``sign`` | ``auth``). Every answer that reaches the responder is HTTP 200 with an OCSPResponse,
``malformedRequest`` included; only an unknown responder path (404) or method (405) is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from anchorid.common import metrics
from anchorid.common.observed_wsgi import ROUTE_KEY
from anchorid.common.pki.ocsp import GET_CACHE_CONTROL, decode_get_path
from anchorid.jlis import ocsp

Headers = list[tuple[str, str]]


def handle(method: str, path: str, body: bytes) -> tuple[int, Headers, bytes]:
    """``path`` starts with ``/ocsp/``. Returns HTTP status, headers and body."""
    rest = path[len(ocsp.OCSP_PATH_PREFIX) :]
    segment, _, encoded = rest.partition("/")
    kind = ocsp.responder_kind(segment)
    if kind is None:
        return 404, [("Content-Type", "text/plain")], b"no such OCSP responder; use /ocsp/sign or /ocsp/auth\n"
    if method == "POST" and not encoded:
        request_der: bytes | None = body
    elif method == "GET" and encoded:
        request_der = decode_get_path(encoded)
    elif method in ("GET", "POST"):
        request_der = None
    else:
        return 405, [("Content-Type", "text/plain"), ("Allow", "GET, POST")], b"GET or POST\n"
    if request_der is None:
        answer = ocsp.malformed_request()
        metrics.count_ocsp_response(kind.value, answer, "malformed_request")
    else:
        answer = ocsp.respond(kind, request_der)
        metrics.count_ocsp_response(kind.value, answer)
    headers = [("Content-Type", ocsp.OCSP_RESPONSE_CONTENT_TYPE), ("Content-Length", str(len(answer)))]
    if method == "GET":
        # RFC 5019 §6: responses may be cached until nextUpdate; ours is at most an hour ahead.
        headers.append(("Cache-Control", GET_CACHE_CONTROL))
    return 200, headers, answer


_REASONS = {200: "200 OK", 404: "404 Not Found", 405: "405 Method Not Allowed", 413: "413 Content Too Large"}


def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The responder as a bare WSGI app: no Django middleware, one indexed query per known certificate."""
    method = environ.get("REQUEST_METHOD", "GET")
    body = b""
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        # An over-long body is answered malformedRequest without reading it.
        body = environ["wsgi.input"].read(length) if 0 <= length <= ocsp.MAX_REQUEST_BYTES else b""
    path = environ.get("PATH_INFO", "")
    status, headers, payload = handle(method, path, body)
    if status != 404:  # the route label names the responder, never the request in a GET path
        kind = path[len(ocsp.OCSP_PATH_PREFIX) :].partition("/")[0]
        environ[ROUTE_KEY] = f"/ocsp/{kind}" if method == "POST" else f"/ocsp/{kind}/<request>"
    start_response(_REASONS[status], headers)
    return [payload]
