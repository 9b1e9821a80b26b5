"""The platform-operator API: consented current attributes (2021 amendment) and certificate links.

Never anonymous. Each request carries ``Authorization: AnchorID-JWS <compact JWS>``, an ES256 JWS (RFC 7515)
made with the registered operator's key, ``kid`` = the RFC 7638 thumbprint of that key, and a JSON payload::

    {"htm": "POST", "htu": "https://jlis.example/api/operator/v1/consents", "bsh": "<b64url SHA-256 of body>",
     "iat": 1760000000, "jti": "<unique per request>"}

(the shape of DPoP's proof, RFC 9449 §4.2, plus a body hash). ``iat`` must be within ±60 s and a ``jti`` is
accepted once. Every refusal is JSON ``{"error": "<code>", "error_description": "..."}`` with a stable code.
docs/protocols/jlis-operator-api.md is the reference.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.db import IntegrityError, transaction
from django.utils import timezone
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from anchorid.common import untrusted_json
from anchorid.jlis.models import (
    AttributeConsent,
    Certificate,
    CertificateKind,
    CertificateLink,
    PlatformOperator,
    Resident,
    UsedRequestId,
)
from anchorid.jlis.register import basic_four_info
from anchorid.jpki.attributes import encode_birth_date

AUTHORIZATION_SCHEME = "AnchorID-JWS"
SIGNING_ALGORITHM = "ES256"
OPERATOR_KEY_CURVE = "P-256"
MAX_CLOCK_SKEW = datetime.timedelta(seconds=60)
MAX_JTI_LENGTH = 128
MAX_BODY_BYTES = 64 * 1024
#: The type of a consent document, and how old it may be when lodged.
CONSENT_DOCUMENT_TYPE = "anchorid.jlis.attribute-consent/1"
CONSENT_MAX_AGE = datetime.timedelta(minutes=10)

# Stable error codes.
E_MISSING_SIGNATURE = "missing_signature"
E_MALFORMED_SIGNATURE = "malformed_signature"
E_UNKNOWN_OPERATOR = "unknown_operator"
E_BAD_SIGNATURE = "bad_signature"
E_REQUEST_MISMATCH = "request_mismatch"
E_STALE_REQUEST = "stale_request"
E_REPLAYED_REQUEST = "replayed_request"
E_INVALID_REQUEST = "invalid_request"
E_INVALID_CERTIFICATE = "invalid_certificate"
E_CERTIFICATE_NOT_ISSUED_HERE = "certificate_not_issued_here"
E_CERTIFICATE_NOT_GOOD = "certificate_not_good"
E_CONSENT_SIGNATURE_INVALID = "consent_signature_invalid"
E_INVALID_CONSENT_DOCUMENT = "invalid_consent_document"
E_CONSENT_OPERATOR_MISMATCH = "consent_operator_mismatch"
E_STALE_CONSENT = "stale_consent"
E_UNKNOWN_CERTIFICATE = "unknown_certificate"
E_UNKNOWN_CONSENT = "unknown_consent"
E_NO_CONSENT = "no_consent"
E_CONSENT_WITHDRAWN = "consent_withdrawn"


class OperatorApiError(Exception):
    """A refusal: HTTP status, stable code, human description. Nothing was changed."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description

    def as_json(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def _unauthorized(code: str, description: str) -> OperatorApiError:
    return OperatorApiError(401, code, description)


def b64url_decode(value: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url_encode(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def body_hash(body: bytes) -> str:
    return b64url_encode(hashlib.sha256(body).digest())


# --- request authentication ---------------------------------------------------------------------------------


def import_operator_key(jwk: dict[str, Any]) -> ECKey:
    """The operator's public P-256 key; private members are dropped, anything else refused (ValueError)."""
    try:
        key = ECKey.import_key(jwk)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not an EC JWK: {exc}") from None
    if key.as_dict(private=False).get("crv") != OPERATOR_KEY_CURVE:
        raise ValueError(f"operator keys are {OPERATOR_KEY_CURVE} (ES256)")
    return ECKey.import_key(key.as_dict(private=False))


def register_operator(name: str, jwk: dict[str, Any]) -> PlatformOperator:
    key = import_operator_key(jwk)
    name = name.strip()
    if not name:
        raise ValueError("an operator needs a name")
    return PlatformOperator.objects.create(name=name, key_id=key.thumbprint(), public_jwk=key.as_dict(private=False))


def authenticate(
    *, method: str, url: str, body: bytes, authorization: str | None, now: datetime.datetime | None = None
) -> PlatformOperator:
    """The operator whose key signed this exact request, once; :class:`OperatorApiError` (401) otherwise."""
    now = now or timezone.now()
    if not authorization or not authorization.startswith(AUTHORIZATION_SCHEME + " "):
        raise _unauthorized(E_MISSING_SIGNATURE, f"send Authorization: {AUTHORIZATION_SCHEME} <compact JWS>")
    token = authorization[len(AUTHORIZATION_SCHEME) + 1 :].strip()
    try:
        untrusted_json.compact_jose_header(token)  # joserfc's own json.loads has no depth limit
        headers = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, TypeError):
        raise _unauthorized(E_MALFORMED_SIGNATURE, "the Authorization value is not a compact JWS") from None
    kid = headers.get("kid")
    if headers.get("alg") != SIGNING_ALGORITHM or not isinstance(kid, str):
        raise _unauthorized(E_MALFORMED_SIGNATURE, f"the JWS header needs alg {SIGNING_ALGORITHM} and a kid")
    operator = PlatformOperator.objects.filter(key_id=kid, active=True).first()
    if operator is None:
        raise _unauthorized(E_UNKNOWN_OPERATOR, "no active operator has this key")
    try:
        verified = jws.deserialize_compact(
            token, import_operator_key(operator.public_jwk), algorithms=[SIGNING_ALGORITHM]
        )
        claims = untrusted_json.loads(verified.payload)
    except (JoseError, ValueError, TypeError):
        raise _unauthorized(E_BAD_SIGNATURE, "the JWS does not verify with the operator's key") from None
    if not isinstance(claims, dict):
        raise _unauthorized(E_MALFORMED_SIGNATURE, "the JWS payload must be a JSON object")
    if claims.get("htm") != method or claims.get("htu") != url or claims.get("bsh") != body_hash(body):
        raise _unauthorized(E_REQUEST_MISMATCH, "htm, htu or bsh do not match this request")
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise _unauthorized(E_MALFORMED_SIGNATURE, "iat must be an integer (seconds since the epoch)")
    issued = datetime.datetime.fromtimestamp(iat, tz=datetime.UTC)
    if abs(now - issued) > MAX_CLOCK_SKEW:
        raise _unauthorized(E_STALE_REQUEST, f"iat is more than {MAX_CLOCK_SKEW.seconds} s away from our clock")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise _unauthorized(E_MALFORMED_SIGNATURE, f"jti must be a string of 1-{MAX_JTI_LENGTH} characters")
    _remember_jti(operator, jti, now)
    return operator


def _remember_jti(operator: PlatformOperator, jti: str, now: datetime.datetime) -> None:
    # A jti older than twice the skew window can no longer come with an acceptable iat: forget it.
    UsedRequestId.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            UsedRequestId.objects.create(operator=operator, jti=jti, expires_at=now + 2 * MAX_CLOCK_SKEW)
    except IntegrityError:
        raise _unauthorized(E_REPLAYED_REQUEST, "this jti was already used") from None


# --- consents -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentDocument:
    operator: str
    purpose: str
    signed_at: datetime.datetime


def parse_consent_document(document: bytes) -> ConsentDocument:
    try:
        data = untrusted_json.loads(document)
        if not isinstance(data, dict) or data.get("type") != CONSENT_DOCUMENT_TYPE:
            raise ValueError(f"type must be {CONSENT_DOCUMENT_TYPE}")
        operator, purpose, signed_at = data["operator"], data.get("purpose", ""), data["signed_at"]
        if not isinstance(operator, str) or not isinstance(purpose, str) or not isinstance(signed_at, str):
            raise ValueError("operator, purpose and signed_at are strings")
        when = datetime.datetime.fromisoformat(signed_at)
        if when.tzinfo is None:
            raise ValueError("signed_at needs a time zone")
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise OperatorApiError(400, E_INVALID_CONSENT_DOCUMENT, f"consent document: {exc}") from None
    return ConsentDocument(operator=operator, purpose=purpose, signed_at=when)


def _rsa_key(der: bytes) -> rsa.RSAPublicKey:
    key = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _signed_by_issued_certificate(document: bytes, signature: bytes, certificate_der: bytes) -> Certificate:
    """The signature certificate J-LIS issued whose key signed ``document``; OperatorApiError (400) otherwise."""
    try:
        presented = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise OperatorApiError(400, E_INVALID_CERTIFICATE, "certificate is not DER X.509") from None
    issued = Certificate.objects.filter(kind=CertificateKind.SIGNATURE, serial=presented.serial_number).first()
    if issued is None or bytes(issued.der) != certificate_der:
        raise OperatorApiError(400, E_CERTIFICATE_NOT_ISSUED_HERE, "not a signature certificate issued by J-LIS")
    try:
        # The card signs a SHA-256 DigestInfo with PKCS#1 v1.5 (jpki-reference.md §2.5); check with OUR copy.
        _rsa_key(bytes(issued.der)).verify(signature, document, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise OperatorApiError(
            400, E_CONSENT_SIGNATURE_INVALID, "the document was not signed by this certificate's key"
        ) from None
    return issued


def lodge_consent(
    operator: PlatformOperator,
    *,
    document: bytes,
    signature: bytes,
    certificate_der: bytes,
    now: datetime.datetime | None = None,
) -> AttributeConsent:
    """Check the resident's signed consent against the signature certificate jlis issued, then keep it."""
    now = now or timezone.now()
    issued = _signed_by_issued_certificate(document, signature, certificate_der)
    consent = parse_consent_document(document)
    if consent.operator != operator.name:
        raise OperatorApiError(400, E_CONSENT_OPERATOR_MISMATCH, "the consent names another operator")
    if consent.signed_at > now + MAX_CLOCK_SKEW or consent.signed_at < now - CONSENT_MAX_AGE:
        raise OperatorApiError(400, E_STALE_CONSENT, f"signed_at must be within {CONSENT_MAX_AGE} of lodging")
    revoked_before = issued.revoked_at is not None and issued.revoked_at <= consent.signed_at
    if revoked_before or not issued.not_before <= consent.signed_at <= issued.not_after:
        raise OperatorApiError(
            400, E_CERTIFICATE_NOT_GOOD, "the certificate was not in force when the consent was signed"
        )
    return AttributeConsent.objects.create(
        operator=operator,
        resident=issued.resident,
        certificate=issued,
        document=document,
        signature=signature,
        signed_at=consent.signed_at,
    )


def withdraw_consent(
    operator: PlatformOperator, consent_id: int, *, now: datetime.datetime | None = None
) -> AttributeConsent:
    consent = AttributeConsent.objects.filter(pk=consent_id, operator=operator).first()
    if consent is None:
        raise OperatorApiError(404, E_UNKNOWN_CONSENT, "no such consent for this operator")
    if consent.withdrawn_at is None:
        consent.withdrawn_at = now or timezone.now()
        consent.save(update_fields=["withdrawn_at"])
    return consent


def consent_json(consent: AttributeConsent) -> dict[str, Any]:
    return {
        "consent_id": consent.pk,
        "certificate": {"kind": consent.certificate.kind, "serial": str(consent.certificate.serial)},
        "signed_at": consent.signed_at.isoformat(),
        "lodged_at": consent.lodged_at.isoformat(),
        "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
    }


# --- attributes and links -------------------------------------------------------------------------------------


def find_certificate(kind: str, serial: str) -> Certificate:
    try:
        parsed_kind = CertificateKind(kind)
        parsed_serial = int(serial, 10)
    except ValueError:
        raise OperatorApiError(404, E_UNKNOWN_CERTIFICATE, "kind is sign|auth and serial a decimal integer") from None
    certificate = Certificate.objects.filter(kind=parsed_kind, serial=parsed_serial).select_related("resident").first()
    if certificate is None:
        raise OperatorApiError(404, E_UNKNOWN_CERTIFICATE, "no such certificate")
    return certificate


def current_attributes(operator: PlatformOperator, kind: str, serial: str) -> dict[str, Any]:
    """The resident's current four attributes, only under a standing consent to this operator."""
    certificate = find_certificate(kind, serial)
    resident: Resident = certificate.resident
    consents = AttributeConsent.objects.filter(operator=operator, resident=resident)
    if not consents.exists():
        raise OperatorApiError(403, E_NO_CONSENT, "the resident has not consented to this operator")
    standing = consents.filter(withdrawn_at__isnull=True).order_by("-id").first()
    if standing is None:
        raise OperatorApiError(403, E_CONSENT_WITHDRAWN, "the resident withdrew the consent")
    info = basic_four_info(resident)
    current_signature = (
        resident.certificates.filter(kind=CertificateKind.SIGNATURE, status=Certificate.Status.GOOD)
        .order_by("-id")
        .first()
    )
    return {
        "certificate": {"kind": certificate.kind, "serial": str(certificate.serial)},
        "consent_id": standing.pk,
        "resident_status": resident.status,
        "attributes": {
            "name": info.name,
            "name_substitutes": info.name_substitutes,
            "birth_date": info.birth_date.isoformat(),
            "birth_date_jpki": encode_birth_date(info.birth_date),
            "gender": info.gender.value,
            "address": info.address,
            "address_substitutes": info.address_substitutes,
        },
        "current_signature_certificate_serial": str(current_signature.serial) if current_signature else None,
        # The certificate itself (DER, base64url): the operator re-anchors the resident's account on it.
        "current_signature_certificate": b64url_encode(bytes(current_signature.der)) if current_signature else None,
        "as_of": timezone.now().isoformat(),
    }


def _summary(certificate: Certificate) -> dict[str, Any]:
    return {
        "kind": certificate.kind,
        "serial": str(certificate.serial),
        "status": certificate.status,
        "revocation_reason": certificate.revocation_reason or None,
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
        "not_after": certificate.not_after.isoformat(),
    }


def _successor_chain(certificate: Certificate) -> list[Certificate]:
    oldest = certificate
    seen = {oldest.pk}
    while (link := oldest.links_in.filter(kind=CertificateLink.Kind.SUCCESSOR).select_related("source").first()) and (
        link.source_id not in seen
    ):
        oldest = link.source
        seen.add(oldest.pk)
    chain = [oldest]
    while (
        link := chain[-1].links_out.filter(kind=CertificateLink.Kind.SUCCESSOR).select_related("target").first()
    ) and (link.target_id not in {c.pk for c in chain}):
        chain.append(link.target)
    return chain


def certificate_links(kind: str, serial: str) -> dict[str, Any]:
    """証明書新旧紐付け情報 (old → new chain) and 証明書紐付け情報 (the other kind on the same card)."""
    certificate = find_certificate(kind, serial)
    chain = _successor_chain(certificate)
    if certificate.kind == CertificateKind.SIGNATURE:
        paired = [link.target for link in certificate.links_out.filter(kind=CertificateLink.Kind.PAIR)]
    else:
        paired = [link.source for link in certificate.links_in.filter(kind=CertificateLink.Kind.PAIR)]
    return {
        "certificate": _summary(certificate),
        "chain": [_summary(c) for c in chain],
        "latest": _summary(chain[-1]),
        # The paired certificates themselves (DER, base64url): a child's account re-anchors on the signature
        # certificate paired with its card's authentication one at 15 (issue #18 §1). Certificates are public.
        "paired": [
            {**_summary(c), "certificate": b64url_encode(bytes(c.der))} for c in sorted(paired, key=lambda c: c.pk)
        ],
    }
