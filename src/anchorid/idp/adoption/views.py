"""``GET /adoption/v1/counts``: the k-anonymous cumulative adoption counts, for the city's staff dashboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from anchorid.idp.adoption.counting import published_counts
from anchorid.idp.oidc import dpop
from anchorid.idp.oidc.client_credentials import ADOPTION_SCOPE, adoption_audience
from anchorid.idp.ssf.auth import ApiError, authenticate

PATH = "/adoption/v1/counts"


def _json(body: object, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, safe=False)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def counts_view(request: HttpRequest) -> HttpResponse:
    try:
        if request.method != "GET":
            response = _json({"error": "invalid_request", "error_description": "use GET"}, 405)
            response["Allow"] = "GET"
            return response
        authenticate(request, PATH, ADOPTION_SCOPE, audience=adoption_audience())
        response = _json(published_counts())
    except ApiError as error:
        response = _json(error.body(), error.status)
        for name, value in error.headers.items():
            response[name] = value
    if "DPoP" in request.headers and "DPoP-Nonce" not in response:
        response["DPoP-Nonce"] = dpop.current_nonce()
    return response
