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

The protocol itself is the shared responder core ``anchorid.common.pki.ocsp`` (the one the jlis responders use);
this module is the platform CA's side of it: the issuing CA, its delegated responder, ``DeviceCertificate`` rows.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives import hashes
from django.db import DatabaseError, connection

from anchorid.common.pki import ocsp as core
from anchorid.common.pki.ocsp import (
    MAX_REQUEST_BYTES,
    OCSP_REQUEST_CONTENT_TYPE,
    OCSP_RESPONSE_CONTENT_TYPE,
    RESPONSE_VALIDITY,
    UNKNOWN,
    CertificateState,
    decode_get_path,
)
from anchorid.common.pki.presigned import refreshed_response
from anchorid.idp.deviceca.authority import IssuingCa, current_responder, load_issuing_ca, now_utc
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate, serial_hex
from anchorid.idp.deviceca.profile import SERIAL_BITS
from anchorid.idp.keystore import KeyStore

__all__ = [
    "MAX_REQUEST_BYTES",
    "OCSP_REQUEST_CONTENT_TYPE",
    "OCSP_RESPONSE_CONTENT_TYPE",
    "decode_get_path",
    "presign",
    "respond",
    "state_of",
]


def state_of(certificate: DeviceCertificate) -> CertificateState:
    if certificate.status == DeviceCertificate.Status.GOOD:
        return core.GOOD
    return core.revoked(certificate.revoked_at, certificate.revocation_reason)


def presign(certificate: DeviceCertificate, *, now: datetime | None = None) -> None:
    """Sign and attach the stored response for ``certificate`` (the caller saves the row)."""
    now = now or now_utc()
    store = ca_keystore()
    issuing = load_issuing_ca(store)
    responder = current_responder(store, issuing, now=now)
    certificate.ocsp_response = core.presigned_response(
        core.ResponderKey(responder.certificate, responder.signer),
        issuing.issuer_hashes,
        serial=int(certificate.serial, 16),
        state=state_of(certificate),
        now=now,
    )
    certificate.ocsp_next_update = now + RESPONSE_VALIDITY


class DeviceCertificates:
    """The device certificates the issuing CA issued, for one request (``core.CertificateDirectory``).

    The key store and the issuing CA are loaded on first use, so a malformed request touches neither."""

    label = "platform OCSP responder"
    #: Serials the issuing CA hands out are below 2**SERIAL_BITS (``profile.random_serial``).
    max_serial: int = 2**SERIAL_BITS - 1

    def __init__(self) -> None:
        self._store: KeyStore | None = None
        self._issuing: IssuingCa | None = None

    @property
    def store(self) -> KeyStore:
        if self._store is None:
            self._store = ca_keystore()
        return self._store

    @property
    def issuing(self) -> IssuingCa:
        if self._issuing is None:
            self._issuing = load_issuing_ca(self.store)
        return self._issuing

    def names_issuer(self, algorithm: hashes.HashAlgorithm, name_hash: bytes, key_hash: bytes) -> bool:
        return self.issuing.names_issuer(algorithm, name_hash, key_hash)

    def responder(self, now: datetime) -> core.ResponderKey:
        responder = current_responder(self.store, self.issuing, now=now)
        return core.ResponderKey(responder.certificate, responder.signer)

    def stored_response(self, serial: int) -> core.StoredResponse | None:
        row = (
            DeviceCertificate.objects.filter(issuer=self.issuing.row, serial=serial_hex(serial))
            .values_list("pk", "ocsp_response", "ocsp_next_update")
            .first()
        )
        return None if row is None else core.StoredResponse(*row)

    def refreshed_response(self, stored: core.StoredResponse, now: datetime) -> bytes:
        return refreshed_response(DeviceCertificate.objects.get(pk=stored.row_id), presign, now)

    def state(self, serial: int) -> CertificateState:
        certificate = DeviceCertificate.objects.filter(issuer=self.issuing.row, serial=serial_hex(serial)).first()
        return UNKNOWN if certificate is None else state_of(certificate)

    def recover(self, error: Exception) -> None:
        if isinstance(error, DatabaseError):
            connection.close()


def respond(request_der: bytes | None) -> bytes:
    """The DER OCSPResponse for one request (``None``: the HTTP layer could not decode it). Never raises."""
    return core.respond(DeviceCertificates(), request_der)
