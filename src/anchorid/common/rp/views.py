"""The two endpoints every relying party serves to the idp: its public key set and back-channel logout.

- ``jwks``: the party's public keys (``anchorid <party> setup`` writes them to the data folder), which the idp
  fetches to check the party's client assertions (RFC 7523) and, for a party that asks for encrypted ID tokens,
  to encrypt to it. Before set-up there is nothing to serve: 404.
- ``backchannel_logout``: OIDC Back-Channel Logout 1.0 §2.5 — the idp POSTs a signed ``logout_token``; the party
  verifies it and ends what it keeps of that session. §2.8: a token that does not verify answers 400 with an
  OAuth error; an accepted one 200. Each party passes what "ending the session" means for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from anchorid.common.rp.client import LoginError
from anchorid.common.rp.setup import JWKS_FILE
from anchorid.common.settings_base import DATA_DIR

View = Callable[[HttpRequest], HttpResponse]


def jwks_response(path: Path) -> HttpResponse:
    if not path.exists():
        raise Http404("not set up")
    return HttpResponse(path.read_bytes(), content_type="application/jwk-set+json")


@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """The key set of the party whose data folder is ``DATA_DIR``."""
    return jwks_response(DATA_DIR / JWKS_FILE)


def backchannel_logout(end_session: Callable[[str], object]) -> View:
    """A back-channel logout view: ``end_session(logout_token)`` verifies the token (raising ``LoginError``) and
    ends what the party keeps of that session."""

    @csrf_exempt  # server to server: the idp posts a signed logout token, no cookie
    @require_POST
    @never_cache
    def view(request: HttpRequest) -> HttpResponse:
        token = request.POST.get("logout_token", "")
        if not token:
            return JsonResponse({"error": "invalid_request"}, status=400)
        try:
            end_session(token)
        except LoginError as error:
            return JsonResponse({"error": error.code}, status=400)
        except FileNotFoundError:  # not set up (`anchorid serve` refuses to start so): nothing can be verified
            return JsonResponse({"error": "invalid_request"}, status=400)
        return HttpResponse(status=200)

    return view
