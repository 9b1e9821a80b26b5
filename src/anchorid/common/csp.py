"""Content-Security-Policy (CSP Level 3) on every response of every party (Django 5.2 has none built in).

One module for the idp, jlis, the city and the providers:

- ``ANCHORID_CONTENT_SECURITY_POLICY`` (each party's settings; :data:`STRICT_POLICY` by default): everything from
  the party's own origin, nothing inline (no ``'unsafe-inline'`` script or style), never framed;
- ``ANCHORID_CSP_FORM_TARGETS`` (optional): the dotted path of a function returning URLs the party's forms may end
  at through a redirect -- browsers apply ``form-action`` to every redirect that follows a form submission, so a
  relying party whose login and logout buttons are answered with a redirect to the idp names the idp's origin;
- a view that sets its own ``Content-Security-Policy`` header keeps it (pages that talk to the card helper on
  localhost widen ``connect-src`` for themselves), and :func:`allow_form_targets` widens ``form-action`` per page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

CSP_HEADER = "Content-Security-Policy"
POLICY_SETTING = "ANCHORID_CONTENT_SECURITY_POLICY"
FORM_TARGETS_SETTING = "ANCHORID_CSP_FORM_TARGETS"
#: Everything from our own origin, nothing inline, never framed, no plugins, no <base> elsewhere.
STRICT_POLICY = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"


def configured_policy() -> str:
    return str(getattr(settings, POLICY_SETTING, STRICT_POLICY))


def configured_form_targets() -> Iterable[str | None]:
    path = getattr(settings, FORM_TARGETS_SETTING, "")
    if not path:
        return ()
    targets: Callable[[], Iterable[str | None]] = import_string(path)
    return targets()


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = with_form_action(configured_policy(), *configured_form_targets())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response:
            response[CSP_HEADER] = self.policy
        return response


def source_of(url: str) -> str | None:
    """The CSP source for where a URL leads: ``scheme://host[:port]``, or ``scheme:`` for a native app's URL."""
    parts = urlsplit(url)
    if not parts.scheme:
        return None
    if parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def with_form_action(policy: str, *urls: str | None) -> str:
    """``policy`` whose ``form-action`` also allows the origins of ``urls`` (added if the policy has none);
    every other directive stays as it is. Unchanged without a URL."""
    sources = sorted({source for url in urls if url and (source := source_of(url))})
    if not sources:
        return policy
    directives = [directive.strip() for directive in policy.split(";") if directive.strip()]
    for index, directive in enumerate(directives):
        if directive.split()[0] == "form-action":
            directives[index] = " ".join([directive, *sources])
            break
    else:
        directives.append(" ".join(["form-action", "'self'", *sources]))
    return "; ".join(directives)


def allow_form_targets(response: HttpResponse, *urls: str | None) -> HttpResponse:
    """Let this page's forms end, through a redirect, at these URLs (consent, logout confirmation)."""
    policy = response[CSP_HEADER] if CSP_HEADER in response else configured_policy()
    widened = with_form_action(policy, *urls)
    if widened != policy:
        response[CSP_HEADER] = widened
    return response
