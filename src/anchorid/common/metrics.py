"""Prometheus metrics every party shares, and ``/metrics`` (docs/observability.md).

Metrics are counted with prometheus_client. Under ``anchorid serve`` every process of the party (Granian's
workers, the idp's background process) counts into files of its own (``anchorid.common.metrics_folder``) and a
scrape adds them up with the library's ``MultiProcessCollector``; elsewhere (tests, one-off commands) they live in
the process's default registry. Gauges that describe the database (the idp's outbox depth, its jobs) are not
counted at all but read at scrape time by the collectors named in the setting ``ANCHORID_METRICS_COLLECTORS``.

Labels never hold a path, an id, a token or anything a caller chose freely: an endpoint is its URL *pattern*
(``/onboarding/device/<str:code>/``, never the code), methods and statuses are bounded sets, and reasons are our
own refusal codes (:func:`code_label` folds anything else into ``other``).

``/metrics`` answers only a scraper that may read it (:func:`scrape_status`): with ``ANCHORID_METRICS_TOKEN`` set,
a request carrying ``Authorization: Bearer <that token>``; without it, a request from a loopback address that did
not come through a proxy (no ``X-Forwarded-For``/``Forwarded``/``X-Real-IP``): a Prometheus on the same machine.
"""

from __future__ import annotations

import atexit
import hmac
import ipaddress
import logging
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from anchorid.common.metrics_folder import ENVIRONMENT_VARIABLE

log = logging.getLogger(__name__)

PATH = "/metrics"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: The route label of a request no URL pattern matched.
UNMATCHED = "<unmatched>"
OTHER = "other"
_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "anchorid_http_requests",
    "Requests answered, by URL pattern, method and HTTP status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "anchorid_http_request_duration_seconds",
    "Time from the request reaching the WSGI application to its response, by URL pattern and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
OCSP_RESPONSES = Counter(
    "anchorid_ocsp_responses",
    "OCSP answers this party's responder gave, by responder and status (good, revoked, unknown, or the OCSP "
    "response status when it is not successful: malformed_request, internal_error, unauthorized, ...).",
    ["responder", "status"],
)


def multiprocess() -> bool:
    return bool(os.environ.get(ENVIRONMENT_VARIABLE))


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else OTHER


def code_label(code: object) -> str:
    """A reason label: one of our own snake_case codes, else ``other`` (never free text)."""
    return code if isinstance(code, str) and _CODE.fullmatch(code) else OTHER


# prometheus_client's ``labels()`` validates and locks on every call; the label sets here are bounded, so each
# labelled child is looked up once and kept (a plain dict: a lost race only looks the same child up twice).
_REQUEST_CHILDREN: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_OCSP_CHILDREN: dict[tuple[str, str], Any] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method_label(method), status_label(status))
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        children = _REQUEST_CHILDREN[key] = (HTTP_REQUESTS.labels(*key), HTTP_DURATION.labels(key[0], key[1]))
    children[0].inc()
    children[1].observe(seconds)


#: The status of each answer seen lately. Pre-signed answers repeat (one per certificate until it is re-signed), so
#: each is parsed once, not once per request (parsing was a quarter of jlis's cheapest request). Answers signed
#: afresh for a nonce never repeat and are not kept. Bounded: emptied when full.
_ANSWER_STATUS: dict[bytes, str] = {}
ANSWER_STATUS_ENTRIES = 1024


def ocsp_status(answer: bytes) -> str:
    """The status a DER OCSPResponse gives: the certificate's (good, revoked, unknown) when successful, else the
    response status (malformed_request, internal_error, ...)."""
    known = _ANSWER_STATUS.get(answer)
    if known is not None:
        return known
    from cryptography import x509
    from cryptography.x509 import ocsp

    try:
        response = ocsp.load_der_ocsp_response(answer)
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return response.response_status.name.lower()
        status = response.certificate_status.name.lower()
        response.extensions.get_extension_for_class(x509.OCSPNonce)
        return status  # a nonce: this answer will not come again
    except x509.ExtensionNotFound:
        if len(_ANSWER_STATUS) >= ANSWER_STATUS_ENTRIES:
            _ANSWER_STATUS.clear()
        _ANSWER_STATUS[answer] = status
        return status
    except ValueError:
        return OTHER


def count_ocsp_response(responder: str, answer: bytes, status: str | None = None) -> None:
    """Count one OCSP answer by ``status``, or by the status read back from ``answer`` (the responder core returns
    bytes, often pre-signed ones)."""
    key = (responder, status or ocsp_status(answer))
    child = _OCSP_CHILDREN.get(key)
    if child is None:
        child = _OCSP_CHILDREN[key] = OCSP_RESPONSES.labels(*key)
    child.inc()


# --- scraping ---------------------------------------------------------------------------------------------------


class _ThisProcess:
    """The process's default registry, for a scrape outside multiprocess mode."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class _Guarded:
    """A scrape-time collector whose failure (e.g. the database is down) leaves its metrics out, not the scrape."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Metric]:
        try:
            metrics = list(self.collector.collect())
        except Exception:
            log.exception("metrics collector %s failed", type(self.collector).__name__)
            return iter(())
        return iter(metrics)


def _scrape_collectors() -> list[Any]:
    from django.conf import settings
    from django.utils.module_loading import import_string

    return [import_string(path)() for path in getattr(settings, "ANCHORID_METRICS_COLLECTORS", ())]


def render(accept: str = "") -> tuple[bytes, str]:
    """Every process's counters and the scrape-time gauges, in the format the scraper's ``Accept`` asks for
    (OpenMetrics for Prometheus, else the Prometheus text format), and its content type."""
    registry = CollectorRegistry()
    if multiprocess():
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    for collector in _scrape_collectors():
        registry.register(_Guarded(collector))
    try:
        encoder, content_type = choose_encoder(accept)
    except (TypeError, ValueError):  # the library cannot read this Accept (e.g. "version=x"): the plain text format
        encoder, content_type = choose_encoder("")
    return bytes(encoder(registry)), content_type


_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def scrape_status(environ: dict[str, Any]) -> int:
    """200 when this request may read ``/metrics``, else 401 (a token is configured and was not given) or 403."""
    from django.conf import settings

    token = getattr(settings, "ANCHORID_METRICS_TOKEN", None)
    if token:
        scheme, _, given = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), str(token).encode()):
            return 200
        return 401
    if any(environ.get(header) for header in _FORWARDING_HEADERS):
        return 403  # through a proxy: the loopback peer is the proxy, not the scraper
    try:
        loopback = ipaddress.ip_address(str(environ.get("REMOTE_ADDR", ""))).is_loopback
    except ValueError:
        loopback = False
    return 200 if loopback else 403


def forget_process_at_exit() -> None:
    """In multiprocess mode, drop this process's live gauges when it exits (prometheus_client's bookkeeping)."""
    if multiprocess():
        atexit.register(lambda: prometheus_multiprocess.mark_process_dead(os.getpid()))  # type: ignore[no-untyped-call]
