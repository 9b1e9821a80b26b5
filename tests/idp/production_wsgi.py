"""Every idp test client goes through production's WSGI entry point (anchorid.idp.wsgi.application).

Production serves the OpenID Provider's JSON endpoints (token, PAR, userinfo, introspection, revocation, JWKS,
metadata) through the thin dispatch of ``anchorid.idp.oidc.fastpath``, ahead of Django's middleware; Django's test
client would call them through the full middleware instead, so a test could pass on a path production never runs.
``ProductionClientHandler`` gives a request for those paths to ``anchorid.idp.wsgi.application`` itself (which
decides, as in production, what the thin dispatch answers) and turns its WSGI answer back into a response the test
client understands. Every other path goes through Django's test handler, i.e. the same middleware stack
``anchorid.idp.wsgi`` hands it to in production (with the test client's usual CSRF exemption and template capture).

``tests/idp/conftest.py`` installs it for every test client of the idp tests (``django.test.Client()`` and the
``client`` fixture); ``ProductionClient`` is the same, explicitly, for helpers (``oidc_support``).
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler
from django.test.signals import setting_changed


class ProductionClientHandler(ClientHandler):
    """Django's test handler, except that the thin-dispatch paths are answered by the production WSGI app."""

    calls = 0  # requests answered by anchorid.idp.wsgi.application (tests check that it is really used)

    def __call__(self, environ: dict[str, Any]) -> HttpResponse:
        from anchorid.idp.oidc import fastpath

        if not fastpath.handles(environ.get("PATH_INFO", "")):
            response: HttpResponse = super().__call__(environ)
            return response
        return self._production(environ)

    def _production(self, environ: dict[str, Any]) -> HttpResponse:
        from anchorid.idp import wsgi

        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        request_started.disconnect(close_old_connections)  # as ClientHandler: keep the test's connection
        try:
            body = b"".join(wsgi.application(environ, start_response))
        finally:
            request_started.connect(close_old_connections)
        type(self).calls += 1
        status, headers = started
        response = HttpResponse(body, status=int(status.split(" ", 1)[0]))
        for name in [name for name in response.headers if name.lower() == "content-type"]:
            del response[name]
        for name, value in headers:
            response[name] = value
        response.wsgi_request = WSGIRequest(environ)  # type: ignore[attr-defined]
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)
        return response


class ProductionClient(Client):
    """``django.test.Client`` whose requests go through ``ProductionClientHandler``."""

    def __init__(self, *args: Any, enforce_csrf_checks: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, enforce_csrf_checks=enforce_csrf_checks, **kwargs)
        self.handler = ProductionClientHandler(enforce_csrf_checks)


def _rebuild_thin_dispatch(**_: Any) -> None:
    """The thin dispatch builds its header middleware once; a test that changes a setting gets it rebuilt."""
    from anchorid.idp.oidc import fastpath

    fastpath.reset()


setting_changed.connect(_rebuild_thin_dispatch, dispatch_uid="anchorid-tests-rebuild-thin-dispatch")
