"""The two simulated JPKI roots: created once per data folder, loaded once per process.

One CA per certificate kind, with the production DN shape (``O=JPKI``) so that what jlis issues looks like
what J-LIS issues (docs/jlis.md). Each CA has a delegated OCSP signing certificate (RFC 6960 §4.2.2.2).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import IntegrityError, transaction

from anchorid.jlis import keystore
from anchorid.jlis.models import CertificateAuthority, CertificateKind
from anchorid.jpki import profiles

#: Root validity: ten years, ending at 23:59:59 JST like the real roots (jpki-reference.md §1.1).
CA_VALIDITY_YEARS = 10
CA_END_OF_DAY_UTC = time(14, 59, 59)
#: Serial numbers: positive and below 2**63 so they fit a signed 64-bit database column.
MAX_SERIAL = 2**63 - 1
#: OCSP CertID hash algorithms the responder recognises the issuer by.
CERT_ID_HASHES: tuple[type[hashes.HashAlgorithm], ...] = (hashes.SHA1, hashes.SHA256, hashes.SHA384, hashes.SHA512)

PROFILE_KIND = {
    CertificateKind.SIGNATURE: profiles.CertKind.SIGNATURE,
    CertificateKind.AUTHENTICATION: profiles.CertKind.AUTHENTICATION,
}


def new_serial() -> int:
    """A random positive serial number (unique per CA is enforced by the database)."""
    return secrets.randbelow(MAX_SERIAL - 1) + 1


@dataclass
class LoadedAuthority:
    """A CA with signers for its keys (which stay in the key store) and the hashes OCSP requests name it by."""

    pk: int
    kind: CertificateKind
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    responder_certificate: x509.Certificate
    responder_key: rsa.RSAPrivateKey
    # (hash algorithm name, issuer name hash, issuer key hash) triples
    issuer_hashes: set[tuple[str, bytes, bytes]] = field(default_factory=set)

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def names_issuer(self, algorithm: hashes.HashAlgorithm, name_hash: bytes, key_hash: bytes) -> bool:
        return (algorithm.name, name_hash, key_hash) in self.issuer_hashes


def _issuer_hashes(certificate: x509.Certificate) -> set[tuple[str, bytes, bytes]]:
    name_der = certificate.subject.public_bytes()
    key_bits = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )  # RFC 6960 §4.1.1: hash of the subjectPublicKey BIT STRING value, i.e. the PKCS#1 RSAPublicKey
    result = set()
    for algorithm_class in CERT_ID_HASHES:
        name_hash = hashes.Hash(algorithm_class())
        name_hash.update(name_der)
        key_hash = hashes.Hash(algorithm_class())
        key_hash.update(key_bits)
        result.add((algorithm_class().name, name_hash.finalize(), key_hash.finalize()))
    return result


_cache: dict[str, LoadedAuthority] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _create(kind: CertificateKind) -> CertificateAuthority:
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    not_after = datetime.combine(date(today.year + CA_VALIDITY_YEARS, today.month, 1), CA_END_OF_DAY_UTC, UTC)
    # The keys are generated inside the key store; the certificates are signed through it.
    ca_key_file, ca_key = keystore.create_key(f"{kind}-ca")
    ca_certificate = profiles.build_ca_certificate(
        PROFILE_KIND[kind], ca_key, serial=secrets.randbelow(2**31) + 1, not_before=now, not_after=not_after
    )
    responder_key_file, responder_key = keystore.create_key(f"{kind}-ocsp")
    responder_certificate = profiles.build_ocsp_responder_certificate(
        ca_certificate=ca_certificate,
        ca_key=ca_key,
        public_key=responder_key.public_key(),
        serial=new_serial(),
        not_before=now,
        not_after=not_after,
    )
    return CertificateAuthority(
        kind=kind,
        certificate_der=ca_certificate.public_bytes(serialization.Encoding.DER),
        key_file=ca_key_file,
        responder_certificate_der=responder_certificate.public_bytes(serialization.Encoding.DER),
        responder_key_file=responder_key_file,
    )


def ensure_authority(kind: CertificateKind) -> CertificateAuthority:
    """The CA row of ``kind``, created (keys generated, encrypted, stored) if this data folder has none."""
    existing = CertificateAuthority.objects.filter(kind=kind).first()
    if existing is not None:
        return existing
    candidate = _create(kind)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        # Another process created it first; its keys win and ours are simply unused files.
        return CertificateAuthority.objects.get(kind=kind)
    return candidate


def ensure_authorities() -> None:
    for kind in CertificateKind:
        ensure_authority(kind)


def load_authority(kind: CertificateKind | str) -> LoadedAuthority:
    """The CA of ``kind`` with decrypted keys, cached for the life of the process."""
    kind = CertificateKind(kind)
    cached = _cache.get(kind)
    if cached is not None:
        return cached
    with _cache_lock:
        cached = _cache.get(kind)
        if cached is not None:
            return cached
        row = ensure_authority(kind)
        certificate = x509.load_der_x509_certificate(bytes(row.certificate_der))
        loaded = LoadedAuthority(
            pk=row.pk,
            kind=kind,
            certificate=certificate,
            key=keystore.load_private_key(row.key_file),
            responder_certificate=x509.load_der_x509_certificate(bytes(row.responder_certificate_der)),
            responder_key=keystore.load_private_key(row.responder_key_file),
            issuer_hashes=_issuer_hashes(certificate),
        )
        _cache[kind] = loaded
        return loaded


def loaded_authorities() -> list[LoadedAuthority]:
    return [load_authority(kind) for kind in CertificateKind]
