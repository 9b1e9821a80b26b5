"""The OCSP responder core (RFC 6960), shared by the simulated J-LIS responders (``anchorid.jlis.ocsp``) and the
platform CA's responder (``anchorid.idp.deviceca.ocsp``).

- §4.1 / §4.2: a request is parsed here; what the CA knows about the serial comes from a
  :class:`CertificateDirectory` the party implements over its own models: good / revoked (time + CRLReason) /
  unknown; a CertID naming another issuer, or a serial the CA cannot have issued, is ``unknown`` (§2.2);
- §4.2.2.2: responses are signed by a delegated responder (ResponderID byKey, its certificate in ``certs``);
- §2.3: anything that does not parse is ``malformedRequest``, a failure on our side ``internalError`` -- never
  an exception, so never an HTTP 500;
- §4.4.1 (RFC 8954): a nonce of 1-32 octets is echoed, and such a response is signed fresh;
- Appendix A.1: the GET form's path is decoded by :func:`decode_get_path`.

Responses for issued certificates are pre-signed with a SHA-1 CertID (what ``openssl ocsp`` and most clients
send) and stored by the party with the certificate: a nonce-less SHA-1 request costs the directory's one lookup
and no signature while the stored response has more than :data:`REFRESH_MARGIN` left.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509 import ocsp

logger = logging.getLogger(__name__)

OCSP_REQUEST_CONTENT_TYPE = "application/ocsp-request"
OCSP_RESPONSE_CONTENT_TYPE = "application/ocsp-response"
#: thisUpdate → nextUpdate of every response.
RESPONSE_VALIDITY = timedelta(hours=1)
#: A stored response is re-signed when fewer than this is left before its nextUpdate (J-LIS: every 15 min).
REFRESH_MARGIN = timedelta(minutes=45)
#: Larger requests are refused as malformed without parsing.
MAX_REQUEST_BYTES = 8192
#: RFC 8954 §2.1: nonces longer than 32 octets may be refused; we refuse them as malformed.
MAX_NONCE_BYTES = 32
#: Pre-signed responses carry a SHA-1 CertID, the one ``openssl ocsp`` and most clients send.
PRESIGNED_CERT_ID_HASH = hashes.SHA1
#: RFC 5019 §6: GET responses may be cached; a revocation re-signs, so only for a short while.
GET_CACHE_CONTROL = "max-age=60, public, no-transform, must-revalidate"


@dataclass(frozen=True)
class CertificateState:
    """What a response says about one serial."""

    status: ocsp.OCSPCertStatus
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None


UNKNOWN = CertificateState(ocsp.OCSPCertStatus.UNKNOWN)
GOOD = CertificateState(ocsp.OCSPCertStatus.GOOD)


def reason_flag(reason: str | None) -> x509.ReasonFlags | None:
    """RFC 5280 §5.3.1: the reasonCode should be absent rather than ``unspecified``."""
    if not reason or reason == x509.ReasonFlags.unspecified.value:
        return None
    return x509.ReasonFlags(reason)


def revoked(revoked_at: datetime | None, reason: str | None) -> CertificateState:
    """A revoked (or held: ``certificateHold``) certificate's state."""
    return CertificateState(ocsp.OCSPCertStatus.REVOKED, revoked_at, reason_flag(reason))


@dataclass(frozen=True)
class ResponderKey:
    """The delegated responder (RFC 6960 §4.2.2.2): its certificate and the key that signs responses."""

    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes


def sign_response(
    responder: ResponderKey,
    *,
    serial: int,
    state: CertificateState,
    algorithm: hashes.HashAlgorithm,
    issuer_name_hash: bytes,
    issuer_key_hash: bytes,
    now: datetime,
    nonce: bytes | None = None,
) -> bytes:
    """A DER BasicOCSPResponse about one CertID, valid for :data:`RESPONSE_VALIDITY` from ``now``."""
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
    return builder.sign(responder.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def presigned_cert_id(issuer_hashes: Iterable[tuple[str, bytes, bytes]]) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of the pre-signed responses' CertID, from a CA's (algorithm, name hash,
    key hash) triples."""
    for name, name_hash, key_hash in issuer_hashes:
        if name == PRESIGNED_CERT_ID_HASH.name:
            return name_hash, key_hash
    raise AssertionError("every CA has SHA-1 issuer hashes")


def presigned_response(
    responder: ResponderKey,
    issuer_hashes: Iterable[tuple[str, bytes, bytes]],
    *,
    serial: int,
    state: CertificateState,
    now: datetime,
) -> bytes:
    """The response a CA stores with a certificate: SHA-1 CertID (:data:`PRESIGNED_CERT_ID_HASH`), no nonce."""
    name_hash, key_hash = presigned_cert_id(issuer_hashes)
    return sign_response(
        responder,
        serial=serial,
        state=state,
        algorithm=PRESIGNED_CERT_ID_HASH(),
        issuer_name_hash=name_hash,
        issuer_key_hash=key_hash,
        now=now,
    )


def malformed_request() -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
        serialization.Encoding.DER
    )


def internal_error() -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR).public_bytes(
        serialization.Encoding.DER
    )


class StoredResponse(NamedTuple):
    """A certificate's pre-signed response as the party stores it (``row_id`` names the row to refresh).

    A tuple: it is made on every request of the hot path."""

    row_id: int
    response: bytes | memoryview | None
    next_update: datetime | None


class CertificateDirectory(Protocol):
    """What one CA tells its responder: whom it answers for, and the state of serial N it issued."""

    #: Names the responder in logs.
    label: str
    #: The largest serial this CA issues; larger ones are ``unknown`` without a lookup.
    max_serial: int

    def names_issuer(self, algorithm: hashes.HashAlgorithm, name_hash: bytes, key_hash: bytes) -> bool:
        """Whether a CertID's issuer hashes name this CA."""
        ...

    def responder(self, now: datetime) -> ResponderKey:
        """The delegated responder that signs at ``now``."""
        ...

    def stored_response(self, serial: int) -> StoredResponse | None:
        """The pre-signed response of ``serial``, or None if this CA never issued it (one indexed lookup)."""
        ...

    def refreshed_response(self, stored: StoredResponse, now: datetime) -> bytes:
        """Re-sign and store the response of ``stored.row_id``; the newer one if a revocation got there first."""
        ...

    def state(self, serial: int) -> CertificateState:
        """The state of ``serial`` (:data:`UNKNOWN` if this CA never issued it)."""
        ...

    def recover(self, error: Exception) -> None:
        """Called after a failure, before ``internalError`` goes out (e.g. to drop a broken connection)."""
        ...


def respond(directory: CertificateDirectory, request_der: bytes | None) -> bytes:
    """The DER OCSPResponse for one request (``None``: the HTTP layer could not decode it). Never raises."""
    try:
        return _respond(directory, request_der)
    except Exception as error:
        logger.exception("%s: unexpected error, answering internalError", directory.label)
        directory.recover(error)
        return internal_error()


def nonce_of(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def _respond(directory: CertificateDirectory, request_der: bytes | None) -> bytes:
    if not request_der or len(request_der) > MAX_REQUEST_BYTES:
        return malformed_request()
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = request.hash_algorithm
        serial = request.serial_number
        name_hash = request.issuer_name_hash
        key_hash = request.issuer_key_hash
        nonce = nonce_of(request)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return malformed_request()
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_BYTES:
        return malformed_request()

    now = datetime.now(UTC).replace(microsecond=0)

    def fresh(state: CertificateState) -> bytes:
        return sign_response(
            directory.responder(now),
            serial=serial,
            state=state,
            algorithm=algorithm,
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            now=now,
            nonce=nonce,
        )

    if not directory.names_issuer(algorithm, name_hash, key_hash) or not 0 < serial <= directory.max_serial:
        return fresh(UNKNOWN)
    if nonce is not None or not isinstance(algorithm, PRESIGNED_CERT_ID_HASH):
        return fresh(directory.state(serial))
    stored = directory.stored_response(serial)
    if stored is None:
        return fresh(UNKNOWN)
    response, next_update = stored.response, stored.next_update
    if response is not None and next_update is not None and next_update - now > REFRESH_MARGIN:
        return bytes(response)
    return directory.refreshed_response(stored, now)


def decode_get_path(encoded: str) -> bytes | None:
    """Appendix A.1: the GET form carries the url-encoded base64 of the DER request (None if it is not base64)."""
    # Some servers and clients turn '+' into a space on the way; base64 has no spaces. A trailing '/' is a
    # base64 digit (value 63), so only leading slashes (a doubled path separator) are dropped.
    encoded = encoded.lstrip("/").replace(" ", "+")
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            return None
