"""Content-Security-Policy (CSP Level 3) header on every response, from ``ANCHORID_CONTENT_SECURITY_POLICY``.

Django 5.2 has no built-in CSP. A view that sets its own ``Content-Security-Policy`` header keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

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


def _origin(url: str) -> str | None:
    """The CSP source for where a URL leads: ``scheme://host[:port]``, or ``scheme:`` for a native app's URL."""
    parts = urlsplit(url)
    if not parts.scheme:
        return None
    if parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def allow_form_targets(response: HttpResponse, *urls: str | None) -> HttpResponse:
    """Let this page's forms end, through a redirect, at these URLs (CSP Level 3 ``form-action``).

    Browsers apply ``form-action`` to every redirect that follows a form submission, so a page whose form is
    answered with a redirect to a relying party (consent, logout confirmation) must name that origin; every other
    directive stays as it is.
    """
    sources = sorted({source for url in urls if url and (source := _origin(url))})
    if not sources:
        return response
    policy = response[CSP_HEADER] if CSP_HEADER in response else conf.content_security_policy()
    directives = [directive.strip() for directive in policy.split(";") if directive.strip()]
    for index, directive in enumerate(directives):
        if directive.split()[0] == "form-action":
            directives[index] = " ".join([directive, *sources])
            break
    else:
        directives.append(" ".join(["form-action", "'self'", *sources]))
    response[CSP_HEADER] = "; ".join(directives)
    return response
