"""The platform's OCSP responder (RFC 6960) for device certificates, at ``/pki/ocsp``.

- §4.1 / Appendix A: ``POST /pki/ocsp`` (``application/ocsp-request``) or ``GET /pki/ocsp/<base64 DER>``;
- §4.2.2.2: signed by a delegated responder certificate the issuing CA issued (id-kp-OCSPSigning, ocsp-nocheck),
  ResponderID byKey, the responder certificate in ``certs``;
- §2.2: good / revoked (revocationTime + CRLReason; ``certificateHold`` while the account is suspended) /
  unknown for a serial we never issued or a CertID naming another issuer;
- §2.3: anything that does not parse is ``malformedRequest``; a failure on our side ``internalError``, never
  HTTP 500;
- §4.4.1 (RFC 8954): a nonce (1-32 octets) is echoed, and such a response is signed fresh.

Like the jlis responders, answers for issued certificates are pre-signed (SHA-1 CertID, what openssl and most
clients send) and stored with the certificate: at issuance, in the transaction of any revocation, hold or
release (so the next request already sees it), and again when nextUpdate comes near.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.db import DatabaseError, connection

from anchorid.idp.deviceca.authority import IssuingCa, Responder, current_responder, load_issuing_ca, now_utc
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate, serial_hex
from anchorid.idp.deviceca.profile import SERIAL_BITS

logger = logging.getLogger(__name__)

OCSP_REQUEST_CONTENT_TYPE = "application/ocsp-request"
OCSP_RESPONSE_CONTENT_TYPE = "application/ocsp-response"
RESPONSE_VALIDITY = timedelta(hours=1)
REFRESH_MARGIN = timedelta(minutes=45)
MAX_REQUEST_BYTES = 8192
MAX_NONCE_BYTES = 32
PRESIGNED_CERT_ID_HASH = hashes.SHA1


@dataclass(frozen=True)
class CertificateState:
    status: ocsp.OCSPCertStatus
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None


UNKNOWN = CertificateState(ocsp.OCSPCertStatus.UNKNOWN)


def state_of(certificate: DeviceCertificate) -> CertificateState:
    if certificate.status == DeviceCertificate.Status.GOOD:
        return CertificateState(ocsp.OCSPCertStatus.GOOD)
    reason = certificate.revocation_reason
    flag = None if not reason or reason == x509.ReasonFlags.unspecified.value else x509.ReasonFlags(reason)
    return CertificateState(ocsp.OCSPCertStatus.REVOKED, certificate.revoked_at, flag)


def sign_response(
    responder: Responder,
    *,
    serial: int,
    state: CertificateState,
    algorithm: hashes.HashAlgorithm,
    issuer_name_hash: bytes,
    issuer_key_hash: bytes,
    now: datetime,
    nonce: bytes | None = None,
) -> bytes:
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=issuer_name_hash,
            issuer_key_hash=issuer_key_hash,
            serial_number=serial,
            algorithm=algorithm,
            cert_status=state.status,
            this_update=now,
            next_update=now + RESPONSE_VALIDITY,
            revocation_time=state.revoked_at,
            revocation_reason=state.reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
        .certificates([responder.certificate])
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(responder.signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _presigned_hashes(issuing: IssuingCa) -> tuple[bytes, bytes]:
    for name, name_hash, key_hash in issuing.issuer_hashes:
        if name == PRESIGNED_CERT_ID_HASH().name:
            return name_hash, key_hash
    raise AssertionError("the issuing CA has SHA-1 issuer hashes")


def presign(certificate: DeviceCertificate, *, now: datetime | None = None) -> None:
    """Sign and attach the stored response for ``certificate`` (the caller saves the row)."""
    now = now or now_utc()
    store = ca_keystore()
    issuing = load_issuing_ca(store)
    name_hash, key_hash = _presigned_hashes(issuing)
    certificate.ocsp_response = sign_response(
        current_responder(store, issuing, now=now),
        serial=int(certificate.serial, 16),
        state=state_of(certificate),
        algorithm=PRESIGNED_CERT_ID_HASH(),
        issuer_name_hash=name_hash,
        issuer_key_hash=key_hash,
        now=now,
    )
    certificate.ocsp_next_update = now + RESPONSE_VALIDITY


def _store_refreshed(certificate: DeviceCertificate, now: datetime) -> bool:
    presign(certificate, now=now)
    # Conditional on the status we signed: a revocation committed meanwhile keeps its own (newer) response.
    updated = DeviceCertificate.objects.filter(
        pk=certificate.pk, status=certificate.status, revocation_reason=certificate.revocation_reason
    ).update(ocsp_response=certificate.ocsp_response, ocsp_next_update=certificate.ocsp_next_update)
    return updated == 1


def malformed_request() -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
        serialization.Encoding.DER
    )


def internal_error() -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR).public_bytes(
        serialization.Encoding.DER
    )


def respond(request_der: bytes | None) -> bytes:
    """The DER OCSPResponse for one request (``None``: the HTTP layer could not decode it). Never raises."""
    try:
        return _respond(request_der)
    except DatabaseError:
        logger.exception("platform OCSP responder: database error")
        connection.close()
        return internal_error()
    except Exception:
        logger.exception("platform OCSP responder: unexpected error")
        return internal_error()


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def _respond(request_der: bytes | None) -> bytes:
    if not request_der or len(request_der) > MAX_REQUEST_BYTES:
        return malformed_request()
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = request.hash_algorithm
        serial = request.serial_number
        name_hash = request.issuer_name_hash
        key_hash = request.issuer_key_hash
        nonce = _nonce(request)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return malformed_request()
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_BYTES:
        return malformed_request()

    store = ca_keystore()
    issuing = load_issuing_ca(store)
    now = now_utc()

    def fresh(state: CertificateState) -> bytes:
        return sign_response(
            current_responder(store, issuing, now=now),
            serial=serial,
            state=state,
            algorithm=algorithm,
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            now=now,
            nonce=nonce,
        )

    if not issuing.names_issuer(algorithm, name_hash, key_hash) or not 0 < serial < 2**SERIAL_BITS:
        return fresh(UNKNOWN)
    certificate = DeviceCertificate.objects.filter(issuer=issuing.row, serial=serial_hex(serial)).first()
    if certificate is None:
        return fresh(UNKNOWN)
    if nonce is not None or not isinstance(algorithm, PRESIGNED_CERT_ID_HASH):
        return fresh(state_of(certificate))
    stored, next_update = certificate.ocsp_response, certificate.ocsp_next_update
    if stored is not None and next_update is not None and next_update - now > REFRESH_MARGIN:
        return bytes(stored)
    if not _store_refreshed(certificate, now):
        certificate.refresh_from_db()  # revoked meanwhile: answer with the response the revocation stored
    return bytes(certificate.ocsp_response or b"")


def decode_get_path(encoded: str) -> bytes | None:
    """Appendix A.1: the GET form carries the url-encoded base64 of the DER request."""
    # Some servers and clients turn '+' into a space on the way; base64 has no spaces.
    encoded = encoded.strip("/").replace(" ", "+")
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            return None
