"""HTTP endpoints of the device CA: the wallet JSON API and the PKI publication points (docs/wallet.md).

The JSON endpoints are CSRF-exempt because the wallet is not a browser; instead they accept only
``Content-Type: application/json`` (a cross-site form cannot send it without a CORS preflight, which we never
grant), and a session-authenticated enrollment must not carry a foreign ``Origin`` header.
Errors are ``{"error": code, "message": text}`` with a 4xx status; nothing is stored on a refusal.
"""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common import anonymous_rows, metrics, untrusted_json
from anchorid.common.pki.ocsp import GET_CACHE_CONTROL
from anchorid.idp import conf
from anchorid.idp import metrics as idp_metrics
from anchorid.idp.deviceca import crl, ocsp
from anchorid.idp.deviceca.authority import CaNotInitialised, platform_certificate
from anchorid.idp.deviceca.challenges import new_challenge
from anchorid.idp.deviceca.enrollment import EnrollmentError, enroll
from anchorid.idp.deviceca.models import PlatformCertificate, WalletChallenge
from anchorid.idp.deviceca.wallet_login import DEVICE_KEY_LOGIN, log_in_with_wallet
from anchorid.idp.keystore import KeyStoreError
from anchorid.idp.ratelimit import Limit, RateLimited, client_ip, hit

MAX_JSON_BYTES = 32 * 1024
CERTIFICATE_CONTENT_TYPE = "application/pkix-cert"

WALLET_ENROLL_PER_IP = Limit("wallet-enroll-ip", attempts=20, window_seconds=600)
WALLET_LOGIN_PER_IP = Limit("wallet-login-ip", attempts=60, window_seconds=600)


def error(code: str, message: str, status: int = 400, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise EnrollmentError("bad_request", "send Content-Type: application/json", status=415)
    if len(request.body) > MAX_JSON_BYTES:
        raise EnrollmentError("bad_request", "the request body is too large", status=413)
    try:
        body = untrusted_json.loads(request.body)
    except ValueError:
        raise EnrollmentError("bad_request", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise EnrollmentError("bad_request", "the request body must be a JSON object")
    return body


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def _challenge_response(request: HttpRequest, purpose: str) -> JsonResponse:
    try:  # a challenge row for a caller nobody knows yet: capped per address and for everyone
        anonymous_rows.cap(request, "wallet-challenge")
    except RateLimited as limited:
        return _rate_limited(limited)
    issued = new_challenge(purpose)
    return JsonResponse({"challenge": issued.challenge, "expires_at": issued.expires_at.isoformat()})


def _limited(limit: Limit, request: HttpRequest) -> JsonResponse | None:
    try:
        hit(limit, client_ip(request))
    except RateLimited as limited:
        return _rate_limited(limited)
    return None


def _rate_limited(limited: RateLimited) -> JsonResponse:
    return error(
        "rate_limited",
        f"too many attempts; try again in {limited.retry_after} seconds",
        429,
        Retry_After=str(limited.retry_after),
    )


@csrf_exempt
@require_POST
def enroll_challenge_view(request: HttpRequest) -> HttpResponse:
    return _challenge_response(request, WalletChallenge.Purpose.ENROLL)


@csrf_exempt
@require_POST
def login_challenge_view(request: HttpRequest) -> HttpResponse:
    return _challenge_response(request, WalletChallenge.Purpose.LOGIN)


def _foreign_origin(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin != conf.idp_origin()


@csrf_exempt
@require_POST
def enroll_view(request: HttpRequest) -> HttpResponse:
    limited = _limited(WALLET_ENROLL_PER_IP, request)
    if limited is not None:
        return limited
    if _foreign_origin(request):
        return error("origin_mismatch", "requests from other sites are refused", 403)
    try:
        issued = enroll(request, _json_body(request)).certificate
    except EnrollmentError as refused:
        return error(refused.code, str(refused), refused.status)
    except (CaNotInitialised, KeyStoreError) as unavailable:
        return error("ca_unavailable", str(unavailable), 503)
    issuing = platform_certificate(PlatformCertificate.Role.ISSUING)
    root = platform_certificate(PlatformCertificate.Role.ROOT)
    return JsonResponse(
        {
            "certificate": _b64(bytes(issued.der)),
            "chain": [_b64(bytes(issuing.der)), _b64(bytes(root.der))],
            "credential_id": issued.credential_id,
            "serial": issued.serial,
            "not_after": issued.not_after.isoformat(),
            "acr": issued.acr,
        },
        status=201,
    )


@csrf_exempt
@require_POST
def wallet_login_view(request: HttpRequest) -> HttpResponse:
    limited = _limited(WALLET_LOGIN_PER_IP, request)
    if limited is not None:
        idp_metrics.login("wallet", "rate_limited")
        return limited
    try:
        record = log_in_with_wallet(request, _json_body(request))
    except EnrollmentError as refused:
        idp_metrics.login("wallet", refused.code)
        return error(refused.code, str(refused), refused.status)
    except CaNotInitialised as unavailable:
        idp_metrics.login("wallet", "ca_unavailable")
        return error("ca_unavailable", str(unavailable), 503)
    idp_metrics.login("wallet")
    # The session cookie (settings.SESSION_COOKIE_NAME) comes with this response, set by the session middleware.
    return JsonResponse(
        {
            "acr": DEVICE_KEY_LOGIN.level.acr,
            "amr": DEVICE_KEY_LOGIN.amr,
            "credential_id": record.credential_id,
            "session_cookie": settings.SESSION_COOKIE_NAME,
        }
    )


# --- publication points ---------------------------------------------------------------------------------------


def _der_response(der: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(der, content_type=content_type)
    response["Cache-Control"] = "max-age=300, public"
    return response


def _certificate(role: str) -> HttpResponse:
    try:
        row = platform_certificate(role)
    except CaNotInitialised as missing:
        return HttpResponse(str(missing), status=404, content_type="text/plain")
    return _der_response(bytes(row.der), CERTIFICATE_CONTENT_TYPE)


@require_GET
def root_certificate_view(request: HttpRequest) -> HttpResponse:
    return _certificate(PlatformCertificate.Role.ROOT)


@require_GET
def issuing_certificate_view(request: HttpRequest) -> HttpResponse:
    return _certificate(PlatformCertificate.Role.ISSUING)


@require_GET
def responder_certificate_view(request: HttpRequest) -> HttpResponse:
    return _certificate(PlatformCertificate.Role.OCSP_RESPONDER)


@require_GET
def root_crl_view(request: HttpRequest) -> HttpResponse:
    try:
        return _der_response(crl.root_crl(), crl.CRL_CONTENT_TYPE)
    except CaNotInitialised as missing:
        return HttpResponse(str(missing), status=404, content_type="text/plain")


@require_GET
def issuing_crl_view(request: HttpRequest) -> HttpResponse:
    try:
        return _der_response(crl.current_issuing_crl(), crl.CRL_CONTENT_TYPE)
    except CaNotInitialised as missing:
        return HttpResponse(str(missing), status=404, content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def ocsp_view(request: HttpRequest, encoded: str = "") -> HttpResponse:
    """RFC 6960 Appendix A: POST the DER request, or GET it base64-encoded in the path. Always 200."""
    if request.method == "POST" and not encoded:
        request_der: bytes | None = request.body if len(request.body) <= ocsp.MAX_REQUEST_BYTES else None
    elif request.method == "GET" and encoded:
        request_der = ocsp.decode_get_path(encoded)
    else:
        request_der = None
    answer = ocsp.respond(request_der)
    metrics.count_ocsp_response("platform", answer)
    response = HttpResponse(answer, content_type=ocsp.OCSP_RESPONSE_CONTENT_TYPE)
    if request.method == "GET":
        # RFC 5019 §6: cacheable for a short while; a revocation re-signs, so keep it short.
        response["Cache-Control"] = GET_CACHE_CONTROL
    return response
