"""Content-Security-Policy (CSP Level 3) header on every response, from ``ANCHORID_CONTENT_SECURITY_POLICY``.

Django 5.2 has no built-in CSP. A view that sets its own ``Content-Security-Policy`` header keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from anchorid.idp import conf

CSP_HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = conf.content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response:
            response[CSP_HEADER] = self.policy
        return response
