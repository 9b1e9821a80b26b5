"""The server's checks on what the card helper returns: plain functions, no request, no database.

1. :func:`parse_submission`: a JSON object ``{"challenge", "certificate", "signature"}``, the last two base64
   (standard or URL-safe, padding optional), the certificate DER X.509; bounded sizes.
2. :func:`verify_card_signature`:
   - the certificate's validity period (no network call for an expired certificate);
   - the signature (RSASSA-PKCS1-v1_5, SHA-256 -- what the card's COMPUTE DIGITAL SIGNATURE makes) over exactly
     this challenge, under the certificate's key;
   - ``anchorid.jpki.verify.validate_certificate``: hierarchy (a signature certificate, not an authentication
     one), the JPKI profile, issued by a configured JPKI signature root (by signature: a tampered certificate
     fails here), OCSP at jlis -- fail closed when jlis is unreachable -- and path validation.

Each failure raises :class:`~anchorid.idp.onboarding.refusals.Refusal` with its own code.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.utils import timezone

from anchorid.common import untrusted_json
from anchorid.idp import jlis_client, metrics
from anchorid.idp.onboarding import refusals
from anchorid.idp.onboarding.refusals import Refusal
from anchorid.jpki.certificates import SignatureCertificate
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.trust import TrustConfigurationError
from anchorid.jpki.verify import SignatureInvalid, ValidationFailure, validate_certificate, verify_signature

#: A JPKI signature certificate is about 1.5 KB and an RSA-2048 signature 256 bytes; anything far larger is abuse.
MAX_BODY_BYTES = 16 * 1024
MAX_CERTIFICATE_BYTES = 8 * 1024
MAX_SIGNATURE_BYTES = 1024

FAILURE_CODES: dict[ValidationFailure, str] = {
    ValidationFailure.UNTRUSTED_ISSUER: refusals.CERTIFICATE_UNTRUSTED_ISSUER,
    ValidationFailure.WRONG_HIERARCHY: refusals.CERTIFICATE_WRONG_HIERARCHY,
    ValidationFailure.SIGNATURE: refusals.CERTIFICATE_TAMPERED,
    ValidationFailure.PROFILE: refusals.CERTIFICATE_PROFILE,
    ValidationFailure.REVOKED: refusals.CERTIFICATE_REVOKED,
    ValidationFailure.EXPIRED: refusals.CERTIFICATE_EXPIRED,
    ValidationFailure.NOT_YET_VALID: refusals.CERTIFICATE_NOT_YET_VALID,
    ValidationFailure.REVOCATION_UNKNOWN: refusals.CERTIFICATE_UNKNOWN_TO_JLIS,
    ValidationFailure.REVOCATION_UNAVAILABLE: refusals.JLIS_UNAVAILABLE,
    ValidationFailure.PATH_INVALID: refusals.CERTIFICATE_INVALID,
}
#: The OCSP status (metrics) behind a validation failure that is jlis's answer, or its absence.
OCSP_STATUS: dict[ValidationFailure, str] = {
    ValidationFailure.REVOKED: "revoked",
    ValidationFailure.REVOCATION_UNKNOWN: "unknown",
    ValidationFailure.REVOCATION_UNAVAILABLE: "unavailable",
}


@dataclass(frozen=True, slots=True)
class Submission:
    challenge: str
    certificate: x509.Certificate
    signature: bytes


@dataclass(frozen=True, slots=True)
class VerifiedCard:
    """A signature certificate that passed every check, and what the idp keeps about it."""

    certificate: x509.Certificate
    parsed: SignatureCertificate
    fingerprint: str
    issuer_fingerprint: str
    checked_at: datetime.datetime

    @property
    def serial(self) -> int:
        return self.certificate.serial_number


def _base64(value: Any, what: str, limit: int) -> bytes:
    if not isinstance(value, str) or not value or len(value) > limit * 2:
        raise Refusal(refusals.MALFORMED_REQUEST, f"{what} missing or too long")
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(refusals.MALFORMED_REQUEST, f"{what} is not base64") from None
    if not data or len(data) > limit:
        raise Refusal(refusals.MALFORMED_REQUEST, f"{what} is empty or too long")
    return data


def parse_submission(body: bytes) -> Submission:
    if len(body) > MAX_BODY_BYTES:
        raise Refusal(refusals.REQUEST_TOO_LARGE)
    try:
        data = untrusted_json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refusal(refusals.MALFORMED_REQUEST, "body is not JSON") from None
    if not isinstance(data, dict):
        raise Refusal(refusals.MALFORMED_REQUEST, "body is not a JSON object")
    challenge = data.get("challenge")
    if not isinstance(challenge, str):
        raise Refusal(refusals.MALFORMED_REQUEST, "challenge missing")
    der = _base64(data.get("certificate"), "certificate", MAX_CERTIFICATE_BYTES)
    signature = _base64(data.get("signature"), "signature", MAX_SIGNATURE_BYTES)
    try:
        certificate = x509.load_der_x509_certificate(der)
        certificate.public_key()  # an unparseable key is "not a certificate" too
    except ValueError:
        raise Refusal(refusals.NOT_A_CERTIFICATE) from None
    return Submission(challenge=challenge, certificate=certificate, signature=signature)


def _revocation_reason(reason: x509.ReasonFlags | None) -> str:
    return reason.name if reason is not None else "unspecified"


def verify_card_signature(submission: Submission, *, now: datetime.datetime | None = None) -> VerifiedCard:
    """Every check on the certificate and the signature; returns what passed or raises :class:`Refusal`."""
    now = now or timezone.now()
    certificate = submission.certificate
    if certificate.not_valid_after_utc < now:
        raise Refusal(refusals.CERTIFICATE_EXPIRED)
    if certificate.not_valid_before_utc > now:
        raise Refusal(refusals.CERTIFICATE_NOT_YET_VALID)
    try:
        verify_signature(certificate, submission.challenge.encode("utf-8"), submission.signature)
    except SignatureInvalid:
        raise Refusal(refusals.SIGNATURE_MISMATCH) from None
    try:
        anchors = jlis_client.trust_anchors()
    except TrustConfigurationError as error:
        # A misconfigured idp must not accept anyone; the operator reads the detail in the log.
        raise Refusal(refusals.JLIS_UNAVAILABLE, f"trust anchors unusable: {error}") from None
    result = validate_certificate(
        certificate, anchors, CertKind.SIGNATURE, revocation=jlis_client.ocsp_responder(CertKind.SIGNATURE)
    )
    if result.ok:
        metrics.ocsp_check("card_signature", "good")
    elif result.failure in OCSP_STATUS:
        metrics.ocsp_check("card_signature", OCSP_STATUS[result.failure])
    if not result.ok:
        assert result.failure is not None
        code = FAILURE_CODES[result.failure]
        if code == refusals.CERTIFICATE_REVOKED:
            raise Refusal(code, result.message, reason=_revocation_reason(result.revocation_reason))
        raise Refusal(code, result.message)
    assert isinstance(result.parsed, SignatureCertificate)
    return VerifiedCard(
        certificate=certificate,
        parsed=result.parsed,
        fingerprint=jlis_client.certificate_fingerprint(certificate),
        issuer_fingerprint=jlis_client.certificate_fingerprint(result.path[-1]),
        checked_at=now,
    )
