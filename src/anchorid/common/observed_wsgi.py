"""Every party's WSGI application, observed: a request id, metrics per endpoint, an access line, ``/metrics``.

``observe(application)`` wraps a party's whole WSGI application (its thin dispatch included), in
``anchorid.<party>.wsgi``:

- the request id (``anchorid.common.request_id``): the incoming ``X-Request-ID`` when well-formed, else a new one;
  bound while the request runs (log lines, calls to other parties) and sent back in ``X-Request-ID``;
- ``anchorid_http_requests_total`` and ``anchorid_http_request_duration_seconds`` by route *pattern*: Django's
  resolved route, recorded by :class:`RouteLabelMiddleware` (or set by a thin dispatch under :data:`ROUTE_KEY`),
  else resolved here, else ``<unmatched>`` — never the raw path, which may hold an id or a code;
- one access line at INFO on the logger ``anchorid.access`` (method, route pattern, status, milliseconds);
- ``GET /metrics`` (``anchorid.common.metrics``) for a scraper allowed to read it.

The duration runs until the application returns its response body iterable: for Django's responses and the thin
dispatches' that is the whole response; a streamed body's transfer is not included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse

from anchorid.common import metrics, request_id

#: The WSGI environ key holding the request's route pattern.
ROUTE_KEY = "anchorid.route"
access_log = logging.getLogger("anchorid.access")

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_REASONS = {200: "200 OK", 401: "401 Unauthorized", 403: "403 Forbidden", 405: "405 Method Not Allowed"}


class RouteLabelMiddleware:
    """Records the URL pattern Django resolved (``request.resolver_match.route``) for the metrics' route label."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        match = request.resolver_match
        if match is not None:
            request.META[ROUTE_KEY] = "/" + match.route


def route_of(environ: dict[str, Any], status: int) -> str:
    route = environ.get(ROUTE_KEY)
    if isinstance(route, str):
        return route
    if status == 404:
        return metrics.UNMATCHED
    from django.urls import Resolver404, resolve

    try:  # answered before a view ran (a middleware's redirect or refusal): the pattern the path would reach
        return "/" + resolve(str(environ.get("PATH_INFO", "/"))).route
    except (Resolver404, ValueError, TypeError):
        return metrics.UNMATCHED


def _metrics_endpoint(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ[ROUTE_KEY] = metrics.PATH
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response(_REASONS[405], [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")])
        return [b"GET\n"]
    status = metrics.scrape_status(environ)
    if status != 200:
        headers = [("Content-Type", "text/plain"), ("Cache-Control", "no-store")]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
        start_response(_REASONS[status], headers)
        return [b"not allowed to read the metrics\n"]
    body, content_type = metrics.render(str(environ.get("HTTP_ACCEPT", "")))
    start_response(
        _REASONS[200],
        [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")],
    )
    return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def observe(application: WSGIApplication) -> WSGIApplication:
    """``application`` with a request id, request metrics, an access line and ``/metrics``."""
    metrics.forget_process_at_exit()

    def observed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        rid = request_id.accept(environ.get(request_id.ENVIRON_KEY))
        environ[request_id.ENVIRON_KEY] = rid
        token = request_id.bind(rid)
        started = time.perf_counter()
        answered = [500]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            try:
                answered[0] = int(status[:3])
            except ValueError:
                answered[0] = 500
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((request_id.HEADER, rid))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            if environ.get("PATH_INFO") == metrics.PATH:
                return _metrics_endpoint(environ, start)
            return application(environ, start)
        finally:
            seconds = time.perf_counter() - started
            status = answered[0]
            method = str(environ.get("REQUEST_METHOD", ""))
            route = route_of(environ, status)
            metrics.observe_request(route, method, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %d %.1fms",
                    metrics.method_label(method),
                    route,
                    status,
                    seconds * 1000,
                    extra={
                        "method": metrics.method_label(method),
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
            request_id.unbind(token)

    return observed
