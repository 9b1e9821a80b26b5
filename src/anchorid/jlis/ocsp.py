"""The OCSP responder (RFC 6960), one per CA, signed by each CA's delegated OCSP signing certificate.

- §4.1 requests arrive by POST (``application/ocsp-request``) or GET (``/ocsp/<kind>/<base64 DER>``, Appendix A);
- §4.2 answers good / revoked (time + CRLReason) / unknown; a CertID naming another issuer is ``unknown``
  (§2.2: "the responder doesn't know about the certificate being requested");
- §2.3 anything that does not parse is answered ``malformedRequest``, a failure on our side ``internalError`` --
  never an HTTP 500;
- §4.4.1 a nonce is echoed, and such a response is signed fresh.

Like the real CAs (DA-jpki: responder data updated every 15 minutes), responses for issued certificates are
pre-signed and stored with the certificate: a request without a nonce costs one indexed query and no RSA
operation. Revocation re-signs inside its own transaction (:func:`presign`), so the first request after a life
event already answers ``revoked``; a stored response is re-signed when its nextUpdate comes near.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.db import DatabaseError, connection
from django.db.models import Q

from anchorid.jlis.authority import MAX_SERIAL, LoadedAuthority, load_authority
from anchorid.jlis.models import Certificate, CertificateKind

logger = logging.getLogger(__name__)

OCSP_REQUEST_CONTENT_TYPE = "application/ocsp-request"
OCSP_RESPONSE_CONTENT_TYPE = "application/ocsp-response"
#: URL prefix of the responders: ``/ocsp/sign`` and ``/ocsp/auth``.
OCSP_PATH_PREFIX = "/ocsp/"
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


@dataclass(frozen=True)
class CertificateState:
    """What a response says about one serial."""

    status: ocsp.OCSPCertStatus
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None


UNKNOWN = CertificateState(ocsp.OCSPCertStatus.UNKNOWN)


def reason_flag(reason: str) -> x509.ReasonFlags | None:
    """RFC 5280 §5.3.1: the reasonCode should be absent rather than ``unspecified``."""
    if not reason or reason == Certificate.Reason.UNSPECIFIED:
        return None
    return x509.ReasonFlags(reason)


def state_of(certificate: Certificate) -> CertificateState:
    if certificate.status == Certificate.Status.REVOKED:
        return CertificateState(
            ocsp.OCSPCertStatus.REVOKED, certificate.revoked_at, reason_flag(certificate.revocation_reason)
        )
    return CertificateState(ocsp.OCSPCertStatus.GOOD)


def sign_response(
    authority: LoadedAuthority,
    *,
    serial: int,
    state: CertificateState,
    algorithm: hashes.HashAlgorithm,
    issuer_name_hash: bytes,
    issuer_key_hash: bytes,
    now: datetime,
    nonce: bytes | None = None,
) -> bytes:
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
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
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, authority.responder_certificate).certificates(
        [authority.responder_certificate]
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    response = builder.sign(authority.responder_key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def _presigned_hashes(authority: LoadedAuthority) -> tuple[bytes, bytes]:
    for name, name_hash, key_hash in authority.issuer_hashes:
        if name == PRESIGNED_CERT_ID_HASH.name:
            return name_hash, key_hash
    raise AssertionError("every CA has SHA-1 issuer hashes")


def presign(certificate: Certificate, *, now: datetime | None = None) -> None:
    """Sign and attach the stored response for ``certificate`` (the caller saves the row)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    authority = load_authority(certificate.kind)
    name_hash, key_hash = _presigned_hashes(authority)
    certificate.ocsp_response = sign_response(
        authority,
        serial=certificate.serial,
        state=state_of(certificate),
        algorithm=PRESIGNED_CERT_ID_HASH(),
        issuer_name_hash=name_hash,
        issuer_key_hash=key_hash,
        now=now,
    )
    certificate.ocsp_next_update = now + RESPONSE_VALIDITY


def refresh_stale_responses(*, now: datetime | None = None) -> int:
    """Re-sign every stored response whose nextUpdate is near (a scheduled job; also done on demand)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    count = 0
    stale = Certificate.objects.filter(Q(ocsp_next_update__lt=now + REFRESH_MARGIN) | Q(ocsp_next_update__isnull=True))
    for certificate in stale.iterator():
        if _store_refreshed(certificate, now):
            count += 1
    return count


def _store_refreshed(certificate: Certificate, now: datetime) -> bool:
    presign(certificate, now=now)
    # Conditional on the status we signed: a revocation committed meanwhile keeps its own (newer) response.
    updated = Certificate.objects.filter(
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


def responder_kind(path_segment: str) -> CertificateKind | None:
    try:
        return CertificateKind(path_segment)
    except ValueError:
        return None


_STORED_SQL: str | None = None


def _stored_sql() -> str:
    """One indexed query for the fast path, without the ORM's per-query overhead."""
    global _STORED_SQL
    if _STORED_SQL is None:
        q = connection.ops.quote_name
        meta = Certificate._meta
        # Only identifiers from the model's metadata are interpolated; values go as parameters.
        columns = f"{q('id')}, {q('ocsp_response')}, {q('ocsp_next_update')}"
        where = f"{q('kind')} = %s AND {q('serial')} = %s"
        _STORED_SQL = f"SELECT {columns} FROM {q(meta.db_table)} WHERE {where}"  # noqa: S608
    return _STORED_SQL


def _parse_datetime(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def respond(kind: CertificateKind, request_der: bytes) -> bytes:
    """The DER OCSPResponse for one request to the responder of ``kind``. Never raises."""
    try:
        return _respond(kind, request_der)
    except DatabaseError:
        logger.exception("OCSP responder: database error")
        connection.close()
        return internal_error()
    except Exception:
        logger.exception("OCSP responder: unexpected error")
        return internal_error()


def _respond(kind: CertificateKind, request_der: bytes) -> bytes:
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

    authority = load_authority(kind)
    now = datetime.now(UTC).replace(microsecond=0)

    def fresh(state: CertificateState) -> bytes:
        return sign_response(
            authority,
            serial=serial,
            state=state,
            algorithm=algorithm,
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            now=now,
            nonce=nonce,
        )

    if not authority.names_issuer(algorithm, name_hash, key_hash) or not 0 < serial <= MAX_SERIAL:
        return fresh(UNKNOWN)

    if nonce is None and isinstance(algorithm, PRESIGNED_CERT_ID_HASH):
        with connection.cursor() as cursor:
            cursor.execute(_stored_sql(), [kind.value, serial])
            row = cursor.fetchone()
        if row is None:
            return fresh(UNKNOWN)
        stored, next_update = row[1], _parse_datetime(row[2])
        if stored is not None and next_update is not None and next_update - now > REFRESH_MARGIN:
            return bytes(stored)
        certificate = Certificate.objects.get(pk=row[0])
        if not _store_refreshed(certificate, now):
            certificate.refresh_from_db()  # revoked meanwhile: answer with the response the revocation stored
        return bytes(certificate.ocsp_response or b"")

    certificate_or_none = Certificate.objects.filter(kind=kind, serial=serial).first()
    return fresh(UNKNOWN if certificate_or_none is None else state_of(certificate_or_none))


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None
