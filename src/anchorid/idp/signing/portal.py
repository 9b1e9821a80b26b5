"""``/me/sign/``: a resident signs a PDF from the portal — upload → card or wallet → approve → download.

1. ``POST /me/sign/prepare/`` (multipart ``document``; the session at ``Level.DERIVED``): the PDF is checked
   (``anchorid.signing.documents``), the revision to sign is prepared (pyHanko interrupted signing) into the
   work folder, and the page gets the document's SHA-256, the ByteRange digest and a one-time approval code.
2. Card: the page fetches the prepared revision (``GET /me/sign/<id>/prepared/``) and sends it, with the file
   name, the original file's size and the two digests, to the card helper (``POST /v1/sign-document`` on
   localhost). The helper computes the ByteRange digest and the original file's SHA-256 from those bytes itself,
   refuses unless they are the digests the page named, shows them, asks for the signature password, builds the CMS
   signed attributes over that digest for the card's certificate and has the card sign them. The page posts
   ``{certificate, signed_attributes, signature}`` to ``POST /me/sign/<id>/finish/``. The certificate must be the
   account's current anchor certificate.
   Wallet: ``anchorid sign approve CODE --wallet DIR`` fetches ``GET /signing/approve/<code>``, shows the same,
   signs with the wallet key and posts to the same URL; the certificate must be a good signing certificate of
   this account. The page polls ``GET /me/sign/<id>/finish/``.
3. The idp checks the attributes and the signature, adds the signature timestamp, the DSS (J-LIS / platform
   revocation data) and a document timestamp (B-LTA), appends ``document_signed`` to the audit log (hashes and
   opaque ids only), and the page offers ``/me/sign/<id>/download/``.

Nothing of the document is kept beyond the work folder's two files, removed at download or expiry; the file
name is never stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import secrets
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common import config, untrusted_json
from anchorid.common.csp import CSP_HEADER
from anchorid.common.negotiation import private_page, wants_page
from anchorid.idp import conf
from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Level
from anchorid.idp.audit.chain import append
from anchorid.idp.deviceca.models import DeviceCertificate
from anchorid.idp.sessions import FRESH, CurrentAuthentication, requires_level
from anchorid.idp.signing.models import SigningRequest
from anchorid.idp.signing.validation_data import ValidationDataUnavailable
from anchorid.idp.signing.views import MAX_CERTIFICATE_BYTES, Refused, b64decode, error
from anchorid.signing.errors import SigningError

if TYPE_CHECKING:
    from anchorid.idp.signing.service import SignerMaterial
    from anchorid.signing import stamps

#: As ``anchorid.signing.MAX_PDF_BYTES`` (pyHanko is imported only where used: it takes ~2 s).
MAX_PDF_BYTES = 50 * 1024 * 1024

REQUEST_LIFETIME = timedelta(minutes=15)
MAX_SIGNED_ATTRIBUTES_BYTES = 4096
MAX_SIGNATURE_BYTES = 1024
MAX_FINISH_BYTES = 32 * 1024


def work_dir() -> Path:
    folder = Path(config.SIGNING_WORK_DIR.configured() or Path(settings.DATA_DIR) / "signing-work")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _path(public_id: str) -> Path:
    return work_dir() / f"{public_id}.pdf"


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def purge_expired() -> None:
    for row in SigningRequest.objects.filter(expires_at__lt=timezone.now()):
        _path(row.public_id).unlink(missing_ok=True)
        row.delete()


def _helper_origins() -> str:
    port = int(getattr(settings, "ANCHORID_CARD_HELPER_PORT", 31519))
    return f"http://127.0.0.1:{port} http://localhost:{port}"


@require_GET
@requires_level(Level.DERIVED, max_age=FRESH)
def sign_page(request: HttpRequest) -> HttpResponse:
    port = int(getattr(settings, "ANCHORID_CARD_HELPER_PORT", 31519))
    response = render(
        request,
        "signing/sign.html",
        {"helper_url": f"http://127.0.0.1:{port}", "limit_mb": MAX_PDF_BYTES // (1024 * 1024)},
    )
    response[CSP_HEADER] = (
        "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; "
        f"connect-src 'self' {_helper_origins()}"
    )
    return response


def _stamp_for(account: Account) -> stamps.Stamp | None:
    from anchorid.signing import stamps

    info = account.attributes()
    if info is None:
        return None
    name = info.name.replace("%", "%%")
    return stamps.Stamp(text=f"{name}\n電子署名 %(ts)s")


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH, json=True)
def prepare_view(request: HttpRequest) -> HttpResponse:
    from anchorid.signing import documents, pdf, stamps

    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_PDF_BYTES + 64 * 1024:
        return error("too_large", f"the limit is {MAX_PDF_BYTES} bytes", 413)
    upload = request.FILES.get("document")
    if upload is None:
        return error("no_file", "choose a PDF file", 400)
    purge_expired()
    public_id = "sig_" + secrets.token_hex(16)  # an opaque id the audit log accepts
    code = secrets.token_urlsafe(12)
    target = _path(public_id)
    try:
        source = upload.file
        document_sha256 = documents.sha256_stream(source)  # type: ignore[arg-type]
        with target.open("w+b") as output:
            target.chmod(0o600)
            prepared = asyncio.run(
                pdf.async_prepare_pdf(
                    source,  # type: ignore[arg-type]
                    output,
                    stamp=_stamp_for(current.account) if request.POST.get("stamp") == "1" else None,
                )
            )
    except (SigningError, stamps.StampUnavailable) as refused:
        target.unlink(missing_ok=True)
        code_ = getattr(refused, "code", "stamp_unavailable")
        return error(code_, str(refused), 413 if code_ == "too_large" else 422)
    row = SigningRequest.objects.create(
        public_id=public_id,
        account=current.account,
        document_sha256=document_sha256,
        document_digest=prepared.document_digest.hex(),
        reserved_region_start=prepared.reserved_region_start,
        reserved_region_end=prepared.reserved_region_end,
        field_name=prepared.field_name,
        approval_code_hash=_code_hash(code),
        expires_at=timezone.now() + REQUEST_LIFETIME,
    )
    return JsonResponse(
        {
            "request_id": public_id,
            "document_sha256": document_sha256,
            "document_digest": row.document_digest,
            "approval_code": code,
            "approve_url": f"{conf.idp_origin()}/signing/approve/{code}",
            "prepared_url": f"/me/sign/{public_id}/prepared/",
            "finish_url": f"/me/sign/{public_id}/finish/",
            "expires_at": row.expires_at.isoformat(),
        },
        status=201,
    )


def _finish(row: SigningRequest, body: dict[str, Any], *, method: str) -> None:
    """Check the external signature and complete the B-LTA PDF; audit. Raises Refused."""
    from anchorid.idp.signing.service import LocalTimeStamper, card_material, wallet_material
    from anchorid.signing import pdf

    if row.status != SigningRequest.Status.PREPARED:
        raise Refused("already_signed", "this document was already signed", 409)
    if row.expires_at < timezone.now():
        raise Refused("expired", "this signing request expired; upload the document again", 410)
    der = b64decode(body.get("certificate"), "certificate", MAX_CERTIFICATE_BYTES)
    signed_attributes = b64decode(body.get("signed_attributes"), "signed_attributes", MAX_SIGNED_ATTRIBUTES_BYTES)
    signature = b64decode(body.get("signature"), "signature", MAX_SIGNATURE_BYTES)
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        raise Refused("bad_request", "certificate is not a DER X.509 certificate") from None
    fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    credential_id = ""
    account = Account.objects.get(pk=row.account_id)
    material: SignerMaterial
    if method == "card":
        anchor = account.current_anchor()
        if anchor is None or anchor.fingerprint != fingerprint:
            raise Refused("not_your_card", "this card's certificate does not anchor your account", 403)
        try:
            material = card_material(certificate)
        except ValidationDataUnavailable as unavailable:
            raise Refused(unavailable.code, str(unavailable), unavailable.status) from None
    else:
        record = DeviceCertificate.objects.filter(fingerprint=fingerprint, account=account).first()
        if record is None or not hasattr(record, "signing_profile"):
            raise Refused("not_your_key", "this is not a signing certificate of your account", 403)
        if record.status != DeviceCertificate.Status.GOOD:
            raise Refused("certificate_revoked", "this signing certificate is not good", 403)
        credential_id = record.subject_id
        material = wallet_material(record)
    prepared = pdf.PreparedPdf(
        bytes.fromhex(row.document_digest), row.reserved_region_start, row.reserved_region_end, row.field_name
    )
    path = _path(row.public_id)
    try:
        with path.open("r+b") as output:
            asyncio.run(
                pdf.async_finish_pdf(
                    output,
                    prepared,
                    certificate=certificate,
                    chain=material.chain,
                    signed_attributes_der=signed_attributes,
                    signature=signature,
                    stamper=LocalTimeStamper(),
                    context=material.context,
                )
            )
    except SigningError as failed:
        raise Refused(failed.code, failed.message, 422) from None
    details: dict[str, Any] = {
        "document_sha256": row.document_sha256,
        "signature_id": row.public_id,
        "method": method,
        "certificate_fingerprint": fingerprint,
    }
    if credential_id:
        details["credential_id"] = credential_id
    with transaction.atomic():
        updated = SigningRequest.objects.filter(pk=row.pk, status=SigningRequest.Status.PREPARED).update(
            status=SigningRequest.Status.SIGNED
        )
        if updated != 1:
            raise Refused("already_signed", "this document was already signed", 409)
        append("document_signed", subject=str(account.pk), actor=str(account.pk), details=details)


def _json(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Refused("bad_request", "send Content-Type: application/json", 415)
    raw = request.read(MAX_FINISH_BYTES + 1)
    if len(raw) > MAX_FINISH_BYTES:
        raise Refused("bad_request", "the request body is too large", 413)
    try:
        body = untrusted_json.loads(raw)
    except ValueError:
        raise Refused("bad_request", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused("bad_request", "the request body must be a JSON object")
    return body


def _status(row: SigningRequest) -> JsonResponse:
    signed = row.status == SigningRequest.Status.SIGNED
    return JsonResponse(
        {"status": row.status, "download_url": f"/me/sign/{row.public_id}/download/" if signed else None}
    )


@require_http_methods(["GET", "POST"])
@requires_level(Level.DERIVED)
def finish_view(request: HttpRequest, public_id: str) -> HttpResponse:
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    row = SigningRequest.objects.filter(public_id=public_id, account=current.account).first()
    if row is None:
        return error("unknown_request", "no such signing request", 404)
    if request.method == "GET":
        return _status(row)
    try:
        _finish(row, _json(request), method="card")
    except Refused as refused:
        return error(refused.code, refused.message, refused.status)
    row.refresh_from_db()
    return _status(row)


@require_GET
@requires_level(Level.DERIVED)
def prepared_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """The revision to sign, placeholder included, for the page to hand to the card helper: it computes what it
    shows and signs from these bytes (docs/protocols/card-helper.md)."""
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    row = SigningRequest.objects.filter(
        public_id=public_id,
        account=current.account,
        status=SigningRequest.Status.PREPARED,
        expires_at__gte=timezone.now(),
    ).first()
    path = _path(public_id)
    if row is None or not path.exists():
        if wants_page(request):  # a resident who opened the link (the page's script fetches the PDF)
            return _request_page(request, None)
        return error("unknown_request", "no document to sign here (expired or signed already)", 404)
    response = HttpResponse(path.read_bytes(), content_type="application/pdf")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@requires_level(Level.DERIVED)
def download_view(request: HttpRequest, public_id: str) -> HttpResponse:
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    row = SigningRequest.objects.filter(
        public_id=public_id, account=current.account, status=SigningRequest.Status.SIGNED
    ).first()
    path = _path(public_id)
    if row is None or not path.exists():
        return error("unknown_request", "no signed document here (expired or not signed yet)", 404)
    # Served from memory so the work file can go now: the resident downloads it once.
    data = io.BytesIO(path.read_bytes())
    path.unlink(missing_ok=True)
    row.delete()
    response = HttpResponse(data.getvalue(), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="signed.pdf"'
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def approval_view(request: HttpRequest, code: str) -> HttpResponse:
    """The wallet's side of a portal signature: the one-time code is the credential (like the cross-device code)."""
    row = SigningRequest.objects.filter(approval_code_hash=_code_hash(code)).first()
    if row is not None and row.expires_at < timezone.now():
        row = None
    if request.method == "GET" and wants_page(request):  # a resident who opened the code's URL in a browser
        return _request_page(request, row, code)
    if row is None:
        return error("code_unknown", "unknown or expired code", 404)
    if request.method == "GET":
        return JsonResponse(
            {
                "document_sha256": row.document_sha256,
                "document_digest": row.document_digest,
                "origin": conf.idp_origin(),
                "expires_at": row.expires_at.isoformat(),
                "status": row.status,
            }
        )
    try:
        _finish(row, _json(request), method="wallet")
    except Refused as refused:
        return error(refused.code, refused.message, refused.status)
    return JsonResponse({"status": "signed"})


def _request_page(request: HttpRequest, row: SigningRequest | None, code: str = "") -> HttpResponse:
    """What a browser shows for a signing request's URLs meant for the wallet or the page's script: how to approve
    with the wallet, that it is signed, or that the request is gone (signed and downloaded, or expired)."""
    context = {"row": row, "code": code, "origin": conf.idp_origin(),
               "signed": row is not None and row.status == SigningRequest.Status.SIGNED}  # fmt: skip
    return private_page(render(request, "signing/request.html", context, status=200 if row is not None else 404))
