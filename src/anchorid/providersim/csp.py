"""Content-Security-Policy on every provider page. The sign-up and logout buttons are answered with a redirect to
the idp, which browsers check against ``form-action``: the idp's origin (from the first configured provider) is
added there, as the city does."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CSP_HEADER = "Content-Security-Policy"
POLICY_SETTING = "ANCHORID_PROVIDERS_CONTENT_SECURITY_POLICY"


def idp_origin() -> str | None:
    from anchorid.common.rp.setup import configured_issuer
    from anchorid.common.settings_base import DATA_DIR
    from anchorid.providersim.providers import PROVIDERS

    for provider in PROVIDERS.values():
        issuer = configured_issuer(provider.data_dir(DATA_DIR))
        if issuer:
            parts = urlsplit(issuer)
            return f"{parts.scheme}://{parts.netloc}"
    return None


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        policy = str(getattr(settings, POLICY_SETTING))
        origin = idp_origin()
        self.policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}") if origin else policy

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault(CSP_HEADER, self.policy)
        return response
