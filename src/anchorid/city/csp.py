"""Content-Security-Policy (CSP Level 3) on every city response (Django 5.2 has none built in).

``form-action`` also governs where a form submission may be redirected (Chromium enforces it), and the login and
logout buttons are answered with a redirect to the idp: its origin (the configured issuer's) is added there.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CSP_HEADER = "Content-Security-Policy"
POLICY_SETTING = "ANCHORID_CITY_CONTENT_SECURITY_POLICY"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = with_form_action(str(getattr(settings, POLICY_SETTING)), idp_origin())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault(CSP_HEADER, self.policy)
        return response


def idp_origin() -> str | None:
    from anchorid.city.rp.setup import configured_issuer
    from anchorid.common.settings_base import DATA_DIR

    issuer = configured_issuer(DATA_DIR)
    if issuer is None:
        return None
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def with_form_action(policy: str, origin: str | None) -> str:
    if not origin:
        return policy
    return policy.replace("form-action 'self'", f"form-action 'self' {origin}")
