"""HTTP views of the simulated J-LIS: OCSP (also served by the thin WSGI path), CRL, CA certificates, operator API.

Views only translate HTTP; the logic lives in ocsp.py, crl.py and operator_api.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common import untrusted_json
from anchorid.jlis import crl, ocsp_http, operator_api
from anchorid.jlis.authority import load_authority
from anchorid.jlis.models import CertificateKind, PlatformOperator

CA_CERTIFICATE_CONTENT_TYPE = "application/pkix-cert"


@csrf_exempt
def ocsp_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    status, headers, body = ocsp_http.handle(request.method or "GET", request.path_info, request.body)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


def _kind(kind: str) -> CertificateKind:
    try:
        return CertificateKind(kind)
    except ValueError:
        raise Http404("kind is sign or auth") from None


@require_GET
def crl_view(request: HttpRequest, kind: str) -> HttpResponse:
    return HttpResponse(crl.current_crl(_kind(kind)), content_type=crl.CRL_CONTENT_TYPE)


@require_GET
def ca_certificate_view(request: HttpRequest, kind: str) -> HttpResponse:
    certificate = load_authority(_kind(kind)).certificate
    return HttpResponse(certificate.public_bytes(serialization.Encoding.DER), content_type=CA_CERTIFICATE_CONTENT_TYPE)


@require_GET
def responder_certificate_view(request: HttpRequest, kind: str) -> HttpResponse:
    certificate = load_authority(_kind(kind)).responder_certificate
    return HttpResponse(certificate.public_bytes(serialization.Encoding.DER), content_type=CA_CERTIFICATE_CONTENT_TYPE)


# --- operator API ---------------------------------------------------------------------------------------------

OperatorView = Callable[..., dict[str, Any] | tuple[int, dict[str, Any]]]


def operator_endpoint(view: OperatorView) -> Callable[..., HttpResponse]:
    """Authenticate the signed request, run the view, and turn refusals into JSON with their code."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            if len(request.body) > operator_api.MAX_BODY_BYTES:
                raise operator_api.OperatorApiError(413, operator_api.E_INVALID_REQUEST, "body too large")
            operator = operator_api.authenticate(
                method=request.method or "",
                url=request.build_absolute_uri(),
                body=request.body,
                authorization=request.headers.get("Authorization"),
            )
            result = view(request, operator, *args, **kwargs)
        except operator_api.OperatorApiError as error:
            return JsonResponse(error.as_json(), status=error.status)
        status, payload = result if isinstance(result, tuple) else (200, result)
        return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})

    return wrapped


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = untrusted_json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise operator_api.OperatorApiError(400, operator_api.E_INVALID_REQUEST, "body must be JSON") from None
    if not isinstance(data, dict):
        raise operator_api.OperatorApiError(400, operator_api.E_INVALID_REQUEST, "body must be a JSON object")
    return data


def _b64_field(data: dict[str, Any], name: str) -> bytes:
    try:
        return operator_api.b64url_decode(data[name])
    except (KeyError, ValueError):
        raise operator_api.OperatorApiError(
            400, operator_api.E_INVALID_REQUEST, f"{name} is required, base64url"
        ) from None


@require_POST
@operator_endpoint
def lodge_consent_view(request: HttpRequest, operator: PlatformOperator) -> tuple[int, dict[str, Any]]:
    data = _json_body(request)
    consent = operator_api.lodge_consent(
        operator,
        document=_b64_field(data, "document"),
        signature=_b64_field(data, "signature"),
        certificate_der=_b64_field(data, "certificate"),
    )
    return 201, operator_api.consent_json(consent)


@require_http_methods(["DELETE"])
@operator_endpoint
def withdraw_consent_view(request: HttpRequest, operator: PlatformOperator, consent_id: int) -> dict[str, Any]:
    return operator_api.consent_json(operator_api.withdraw_consent(operator, consent_id))


@require_GET
@operator_endpoint
def attributes_view(request: HttpRequest, operator: PlatformOperator, kind: str, serial: str) -> dict[str, Any]:
    return operator_api.current_attributes(operator, kind, serial)


@require_GET
@operator_endpoint
def links_view(request: HttpRequest, operator: PlatformOperator, kind: str, serial: str) -> dict[str, Any]:
    return operator_api.certificate_links(kind, serial)


@require_POST
@operator_endpoint
def guardianship_view(request: HttpRequest, operator: PlatformOperator) -> dict[str, Any]:
    from anchorid.jlis.guardianship import check_guardian

    data = _json_body(request)
    return check_guardian(
        operator,
        document=_b64_field(data, "document"),
        signature=_b64_field(data, "signature"),
        certificate_der=_b64_field(data, "certificate"),
    )
