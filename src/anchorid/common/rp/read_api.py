"""A read-only JSON endpoint for the services a resident linked a party to (issue 17).

The caller holds a token the idp exchanged for this party (RFC 8693); ``anchorid.common.rp.resource_server`` checks
it (DPoP binding, audience, liveness at the idp, the scope). The answer is what ``answer`` computes for the party's
own pairwise ``sub``, which the caller never learns; nothing is written. The verifier module is imported when the
endpoint is first called, not when the URLconf is loaded (it brings in the JOSE and HTTP libraries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

if TYPE_CHECKING:
    from anchorid.common.rp.resource_server import ResourceServer


def read_api_view(
    scope: str, verifier: Callable[[], ResourceServer], answer: Callable[[str], dict[str, Any]]
) -> Callable[[HttpRequest], HttpResponse]:
    """``GET`` only, no cookie (server to server), never cached. ``verifier`` is called per request, so a party's
    per-process verifier (and a test's replacement of it) is looked up when used."""

    @csrf_exempt
    @require_GET
    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        from anchorid.common.rp.resource_server import TokenRefused

        try:
            token = verifier().verify(request, scopes={scope})
        except TokenRefused as refused:
            return refused.response()
        return JsonResponse(answer(token.subject))

    return view
