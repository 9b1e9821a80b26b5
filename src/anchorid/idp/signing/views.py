"""HTTP endpoints of the signing service (docs/signing.md).

JSON API (for the ``anchorid sign`` CLI, the wallet and the card helper page), CSRF-exempt, JSON only:

- ``GET /signing/trust``: the roots a verifier here trusts (PEM) and the TSA URL;
- ``POST /signing/validation-data`` ``{"certificate"}``: J-LIS's OCSP response and CRL for a JPKI signature
  certificate (base64 DER);
- ``POST /signing/wallet-certificate`` (a wallet login body): the wallet key's document-signing certificate;
- ``POST /signing/api/verify`` (``application/pdf`` body): the verification report as JSON.

Pages: ``/verify/`` (upload a PDF, see the report) and ``/me/sign/`` (``portal.py``).
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common import untrusted_json
from anchorid.idp import conf
from anchorid.idp.deviceca.authority import CaNotInitialised
from anchorid.idp.deviceca.enrollment import EnrollmentError
from anchorid.idp.deviceca.wallet_login import WalletLoginError, authenticate
from anchorid.idp.ratelimit import Limit, RateLimited, client_ip, hit
from anchorid.idp.signing import validation_data
from anchorid.idp.signing.certificates import SigningCertificateRefused, signing_certificate_for
from anchorid.signing.errors import DocumentRefused

if TYPE_CHECKING:
    from anchorid.signing.verify import VerificationReport

logger = logging.getLogger(__name__)

MAX_JSON_BYTES = 32 * 1024
MAX_CERTIFICATE_BYTES = 8192
VALIDATION_DATA_PER_IP = Limit("signing-validation-data-ip", attempts=120, window_seconds=600)
WALLET_CERTIFICATE_PER_IP = Limit("signing-wallet-certificate-ip", attempts=30, window_seconds=600)
VERIFY_PER_IP = Limit("signing-verify-ip", attempts=60, window_seconds=600)
TSA_PATH = "/tsa"


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def error(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _limited(limit: Limit, request: HttpRequest) -> JsonResponse | None:
    try:
        hit(limit, client_ip(request))
    except RateLimited as limited:
        response = error("rate_limited", f"too many requests; try again in {limited.retry_after} seconds", 429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    return None


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Refused("bad_request", "send Content-Type: application/json", 415)
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_JSON_BYTES:
        raise Refused("bad_request", "the request body is too large", 413)
    try:
        body = untrusted_json.loads(request.read(MAX_JSON_BYTES + 1))
    except ValueError:
        raise Refused("bad_request", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused("bad_request", "the request body must be a JSON object")
    return body


def b64decode(value: Any, name: str, limit: int) -> bytes:
    if not isinstance(value, str) or not value:
        raise Refused("bad_request", f"{name} must be a base64 string")
    try:
        decoded = base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Refused("bad_request", f"{name} is not base64") from None
    if not decoded or len(decoded) > limit:
        raise Refused("bad_request", f"{name} must be 1 to {limit} bytes")
    return decoded


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


@require_GET
def trust_view(request: HttpRequest) -> HttpResponse:
    roots = validation_data.trust_roots()
    return JsonResponse(
        {"roots": [_pem(root) for root in roots], "tsa": conf.idp_origin() + TSA_PATH},
        headers={"Cache-Control": "max-age=300"},
    )


@csrf_exempt
@require_POST
def validation_data_view(request: HttpRequest) -> HttpResponse:
    limited = _limited(VALIDATION_DATA_PER_IP, request)
    if limited is not None:
        return limited
    try:
        body = _json_body(request)
        der = b64decode(body.get("certificate"), "certificate", MAX_CERTIFICATE_BYTES)
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            raise Refused("bad_request", "certificate is not a DER X.509 certificate") from None
        data = validation_data.jpki_validation_data(certificate)
    except Refused as refused:
        return error(refused.code, refused.message, refused.status)
    except validation_data.ValidationDataUnavailable as unavailable:
        return error(unavailable.code, str(unavailable), unavailable.status)
    return JsonResponse(
        {
            "ocsp": [_b64(response) for response in data.ocsp_responses],
            "crls": [_b64(crl) for crl in data.crls],
            "issuer": _b64(data.issuer.public_bytes(serialization.Encoding.DER)),
        }
    )


@csrf_exempt
@require_POST
def wallet_certificate_view(request: HttpRequest) -> HttpResponse:
    """A wallet login (same body as ``POST /login/wallet``) that returns the key's signing certificate."""
    from anchorid.idp.deviceca.authority import chain_pem

    limited = _limited(WALLET_CERTIFICATE_PER_IP, request)
    if limited is not None:
        return limited
    try:
        record = authenticate(_json_body(request))
        issued = signing_certificate_for(record)
    except Refused as refused:
        return error(refused.code, refused.message, refused.status)
    except (WalletLoginError, EnrollmentError) as refused:  # a missing or non-base64 field: EnrollmentError
        return error(refused.code, str(refused), refused.status)
    except SigningCertificateRefused as refused:
        return error(refused.code, str(refused), refused.status)
    except CaNotInitialised as missing:
        return error("ca_not_initialised", str(missing), 503)
    return JsonResponse(
        {
            "certificate": _b64(bytes(issued.der)),
            "chain": [
                _b64(c.public_bytes(serialization.Encoding.DER)) for c in x509.load_pem_x509_certificates(chain_pem())
            ],
            "credential_id": issued.subject_id,
            "not_after": issued.not_after.isoformat(),
        },
        status=200,
    )


# pyHanko is imported where it is used: importing it takes ~2 s, and the URLconf should load fast.
def _verify_upload(data: io.BufferedIOBase | io.BytesIO) -> VerificationReport:
    from anchorid.signing.verify import verify_pdf

    return verify_pdf(data, validation_data.trust_roots())  # type: ignore[arg-type]


def _too_large(request: HttpRequest) -> bool:
    from anchorid.signing import documents

    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > documents.MAX_PDF_BYTES + 64 * 1024
    except ValueError:
        return True


@csrf_exempt
@require_POST
def verify_api_view(request: HttpRequest) -> HttpResponse:
    """``POST /signing/api/verify`` with the PDF as the body (``Content-Type: application/pdf``)."""
    limited = _limited(VERIFY_PER_IP, request)
    if limited is not None:
        return limited
    from anchorid.signing import documents

    if request.content_type != "application/pdf":
        return error("bad_request", "send the PDF as the body with Content-Type: application/pdf", 415)
    if _too_large(request):
        return error("too_large", f"the limit is {documents.MAX_PDF_BYTES} bytes", 413)
    body = io.BytesIO(request.read(documents.MAX_PDF_BYTES + 1))
    try:
        report = _verify_upload(body)
    except DocumentRefused as refused:
        return error(refused.code, refused.message, 413 if refused.code == "too_large" else 422)
    return JsonResponse(report.as_json())


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """Upload a PDF, see who signed it, when, and whether it still holds — from the document alone."""
    from anchorid.signing import documents

    context: dict[str, Any] = {"limit_mb": documents.MAX_PDF_BYTES // (1024 * 1024)}
    status = 200
    if request.method == "POST":
        limited = _limited(VERIFY_PER_IP, request)
        if limited is not None:
            return limited
        if _too_large(request):
            context["refusal"] = "too_large"
            status = 413
        else:
            upload = request.FILES.get("document")
            if upload is None:
                context["refusal"] = "no_file"
                status = 400
            else:
                try:
                    context["report"] = _verify_upload(upload.file)  # type: ignore[arg-type]
                except DocumentRefused as refused:
                    context["refusal"] = refused.code
                    status = 413 if refused.code == "too_large" else 422
    return render(request, "signing/verify.html", context, status=status)
