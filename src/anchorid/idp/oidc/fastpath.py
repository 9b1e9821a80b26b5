"""Thin dispatch for the OpenID Provider's JSON endpoints, ahead of Django's middleware (``anchorid.idp.wsgi``).

``/oidc/token``, ``/oidc/par``, ``/oidc/userinfo``, ``/oidc/introspect``, ``/oidc/revoke``, ``/oidc/jwks`` and the
two metadata documents authenticate clients (or serve public documents), never cookies: sessions, CSRF, messages,
locale and authentication middleware have nothing to do for them, and cost more than a token exchange's own work.
Here a request gets only what those endpoints need:

- the ``ALLOWED_HOSTS`` check (``request.get_host()``, as ``CommonMiddleware`` does) — a bad Host is a 400;
- the views of ``views`` unchanged (same checks, same error bodies and status codes: every ``OAuthError`` is the
  spec's JSON error, anything unexpected a JSON ``server_error`` 500, never an HTML page);
- the response headers the middleware would add (``SecurityMiddleware``, ``XFrameOptionsMiddleware``, the CSP
  middleware: the same classes, wrapped around the view), and never a cookie;
- with a read replica configured, the routing of ``anchorid.common.dbrouter`` (JWKS and metadata read from it);
- the database connection kept for the thread's next request (the embedded SQLite database would otherwise be
  reopened per request, ``CONN_MAX_AGE = 0``); it is closed when unusable or out of autocommit mode, and a
  configured ``CONN_MAX_AGE`` (PostgreSQL) is honoured.

Everything else (the authorization endpoint, consent, logout, pages) goes through Django's full stack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import DisallowedHost, RequestDataTooBig, SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from anchorid.common.csp import ContentSecurityPolicyMiddleware
from anchorid.common.dbrouter import ReplicaRoutingMiddleware, replica_configured
from anchorid.idp.oidc import views

logger = logging.getLogger("anchorid.idp.oidc")

VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/oidc/token": views.token_view,
    "/oidc/par": views.par_view,
    "/oidc/userinfo": views.userinfo_view,
    "/oidc/introspect": views.introspect_view,
    "/oidc/revoke": views.revoke_view,
    "/oidc/jwks": views.jwks_view,
    "/.well-known/openid-configuration": views.openid_configuration,
    "/.well-known/oauth-authorization-server": views.openid_configuration,
}


def handles(path: str) -> bool:
    return path in VIEWS


def _error(status: int, error: str, description: str) -> HttpResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _dispatch(request: HttpRequest) -> HttpResponse:
    try:
        request.get_host()
        return VIEWS[request.path_info](request)
    except DisallowedHost:
        return _error(400, "invalid_request", "this host is not served here")
    except RequestDataTooBig:
        return _error(413, "invalid_request", "the request is too large")
    except SuspiciousOperation:
        return _error(400, "invalid_request", "malformed request")
    except Exception:
        logger.exception("unexpected error at %s", request.path_info)
        return _error(500, "server_error", "the server could not handle the request")


_chain: Callable[[HttpRequest], HttpResponse] | None = None


def _middleware_chain() -> Callable[[HttpRequest], HttpResponse]:
    global _chain
    if _chain is None:
        chain: Any = SecurityMiddleware(XFrameOptionsMiddleware(ContentSecurityPolicyMiddleware(_dispatch)))
        if replica_configured():  # JWKS and metadata read from a replica (anchorid.common.dbrouter, D26)
            chain = ReplicaRoutingMiddleware(chain, pin_browsers=False)
        _chain = chain
    assert _chain is not None
    return _chain


def reset() -> None:
    """Rebuild the header middleware on next use (tests that change the settings it reads)."""
    global _chain
    _chain = None


def release_connections() -> None:
    """After a request: keep a healthy connection in autocommit mode, close anything else (Django's rules, except
    that ``CONN_MAX_AGE = 0`` is read as "keep": the thin path has no request_finished to reopen around)."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.in_atomic_block:  # not one of ours (views leave none open): a test's enclosing transaction
            continue
        if conn.settings_dict.get("CONN_MAX_AGE") == 0:
            conn.close_at = None
        conn.close_if_unusable_or_obsolete()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI entry for the paths in ``VIEWS``."""
    try:
        response = _middleware_chain()(WSGIRequest(environ))
    finally:
        release_connections()
    status = f"{response.status_code} {response.reason_phrase}"
    start_response(status, list(response.items()))
    return [response.content]
