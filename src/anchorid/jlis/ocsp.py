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

The protocol itself (parsing, signing, malformed/internal-error answers, nonces) is the shared responder core
``anchorid.common.pki.ocsp``; this module is the J-LIS side of it: the two CAs, the ``Certificate`` rows, and
the fast path's one indexed query.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from django.db import DatabaseError, connection, connections, router
from django.db.models import Q

from anchorid.common.pki import ocsp as core
from anchorid.common.pki.ocsp import (
    MAX_REQUEST_BYTES,
    OCSP_REQUEST_CONTENT_TYPE,
    OCSP_RESPONSE_CONTENT_TYPE,
    REFRESH_MARGIN,
    RESPONSE_VALIDITY,
    UNKNOWN,
    CertificateState,
    malformed_request,
)
from anchorid.common.pki.presigned import refreshed_response, store_refreshed
from anchorid.jlis.authority import MAX_SERIAL, LoadedAuthority, load_authority
from anchorid.jlis.models import Certificate, CertificateKind

__all__ = [
    "MAX_REQUEST_BYTES",
    "OCSP_PATH_PREFIX",
    "OCSP_REQUEST_CONTENT_TYPE",
    "OCSP_RESPONSE_CONTENT_TYPE",
    "REFRESH_MARGIN",
    "RESPONSE_VALIDITY",
    "UNKNOWN",
    "CertificateState",
    "malformed_request",
    "presign",
    "refresh_stale_responses",
    "respond",
    "responder_kind",
    "state_of",
]

#: URL prefix of the responders: ``/ocsp/sign`` and ``/ocsp/auth``.
OCSP_PATH_PREFIX = "/ocsp/"


def state_of(certificate: Certificate) -> CertificateState:
    if certificate.status == Certificate.Status.REVOKED:
        return core.revoked(certificate.revoked_at, certificate.revocation_reason)
    return core.GOOD


def _responder_key(authority: LoadedAuthority) -> core.ResponderKey:
    return core.ResponderKey(authority.responder_certificate, authority.responder_key)


def presign(certificate: Certificate, *, now: datetime | None = None) -> None:
    """Sign and attach the stored response for ``certificate`` (the caller saves the row)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    authority = load_authority(certificate.kind)
    certificate.ocsp_response = core.presigned_response(
        _responder_key(authority),
        authority.issuer_hashes,
        serial=certificate.serial,
        state=state_of(certificate),
        now=now,
    )
    certificate.ocsp_next_update = now + RESPONSE_VALIDITY


def refresh_stale_responses(*, now: datetime | None = None) -> int:
    """Re-sign every stored response whose nextUpdate is near (a scheduled job; also done on demand)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    count = 0
    stale = Certificate.objects.filter(Q(ocsp_next_update__lt=now + REFRESH_MARGIN) | Q(ocsp_next_update__isnull=True))
    for certificate in stale.iterator():
        if store_refreshed(certificate, presign, now):
            count += 1
    return count


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


class JlisCertificates:
    """The certificates one J-LIS CA issued, as its responder sees them (``core.CertificateDirectory``)."""

    def __init__(self, kind: CertificateKind) -> None:
        self.kind = kind
        self.label = f"OCSP responder ({kind.value})"
        self.max_serial = MAX_SERIAL

    def names_issuer(self, algorithm: hashes.HashAlgorithm, name_hash: bytes, key_hash: bytes) -> bool:
        return load_authority(self.kind).names_issuer(algorithm, name_hash, key_hash)

    def responder(self, now: datetime) -> core.ResponderKey:
        return _responder_key(load_authority(self.kind))

    def stored_response(self, serial: int) -> core.StoredResponse | None:
        # The hot path of OCSP: a read the database router may send to a replica (anchorid.common.dbrouter).
        with connections[router.db_for_read(Certificate)].cursor() as cursor:
            cursor.execute(_stored_sql(), [self.kind.value, serial])
            row = cursor.fetchone()
        if row is None:
            return None
        return core.StoredResponse(row[0], row[1], _parse_datetime(row[2]))

    def refreshed_response(self, stored: core.StoredResponse, now: datetime) -> bytes:
        return refreshed_response(Certificate.objects.get(pk=stored.row_id), presign, now)

    def state(self, serial: int) -> CertificateState:
        certificate = Certificate.objects.filter(kind=self.kind, serial=serial).first()
        return UNKNOWN if certificate is None else state_of(certificate)

    def recover(self, error: Exception) -> None:
        if isinstance(error, DatabaseError):
            connection.close()


_DIRECTORIES = {kind: JlisCertificates(kind) for kind in CertificateKind}


def respond(kind: CertificateKind, request_der: bytes) -> bytes:
    """The DER OCSPResponse for one request to the responder of ``kind``. Never raises."""
    return core.respond(_DIRECTORIES[kind], request_der)
