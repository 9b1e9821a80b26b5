"""Create the platform CA (``anchorid idp ca init``) and load it for signing.

Three keys, all EC P-256 in the KeyStore, each named with a random suffix (keys are never overwritten, so an
interrupted init can simply be run again):

- the root (offline-style): signs the issuing CA certificate and the root CRL, only in ``init_ca`` and
  ``anchorid idp ca root-crl``; the running server never loads it;
- the issuing CA: signs device certificates, the delegated responder certificate and the issuing CRL;
- the delegated OCSP responder (RFC 6960 §4.2.2.2): signs OCSP responses; re-issued by the issuing CA when
  its certificate nears its end (``current_responder``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import IntegrityError, transaction

from anchorid.idp.deviceca import profile
from anchorid.idp.deviceca.models import PlatformCertificate, serial_hex
from anchorid.idp.keystore import KeyStore, StoredEcKeySigner, stored_signer

Role = PlatformCertificate.Role

#: The root CRL (an ARL: it speaks for the issuing CA, and for TSA certificates issued before each had its own CRL)
#: is signed at init and by ``anchorid idp ca root-crl``. Its nextUpdate is a day before the end of the
#: longest-lived certificate it speaks for (never beyond the root, at least 90 days on): a signed PDF carries it,
#: and an offline verifier accepts it until then (pyHanko's AdES freshness rule: the validation time must not pass
#: nextUpdate). The old 90 days made every PDF unverifiable offline three months after its last timestamp.
#: It ends *before* the certificate so that, once that certificate has expired, pyHanko's past validation (the
#: ETSI time slide) moves its control time back inside the certificate's validity. See docs/decisions.md.
ROOT_CRL_MINIMUM_VALIDITY = timedelta(days=90)
ROOT_CRL_END_MARGIN = timedelta(days=1)


class CaError(Exception):
    """The platform CA is missing, already there, or misconfigured; the message says which."""


class CaNotInitialised(CaError):
    def __init__(self) -> None:
        super().__init__("the platform CA is not initialised: run `anchorid idp ca init --data DIR --url URL`")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise CaError(f"the idp URL must be http(s)://host[:port][/path], not {url!r}")
    return url.rstrip("/")


def _signer(store: KeyStore, name: str) -> StoredEcKeySigner:
    signer = stored_signer(store, name)
    if not isinstance(signer, StoredEcKeySigner):
        raise CaError(f"the platform CA key {name!r} is not an EC key")
    return signer


def _ec_public(store: KeyStore, name: str) -> ec.EllipticCurvePublicKey:
    public_key = store.create_key(name, "EC-P256")
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    return public_key


def _row(role: str, key_name: str, certificate: x509.Certificate, base_url: str) -> PlatformCertificate:
    return PlatformCertificate.objects.create(
        role=role,
        key_name=key_name,
        der=certificate.public_bytes(serialization.Encoding.DER),
        serial=serial_hex(certificate.serial_number),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        base_url=base_url,
    )


def _key_name(role: str) -> str:
    return f"deviceca-{role}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class InitResult:
    root: x509.Certificate
    issuing: x509.Certificate
    responder: x509.Certificate


def init_ca(store: KeyStore, base_url: str, *, now: datetime | None = None) -> InitResult:
    """Create root, issuing CA and responder; refuse if a CA exists. ``base_url`` goes into AIA and CRLDP."""
    base_url = check_base_url(base_url)
    now = now or now_utc()
    if PlatformCertificate.objects.filter(current=True).exists():
        raise CaError("the platform CA already exists; it is never replaced by init")

    root_name, issuing_name = _key_name(Role.ROOT), _key_name(Role.ISSUING)
    root_public = _ec_public(store, root_name)
    root_signer = _signer(store, root_name)
    root = profile.root_builder(root_public, now).sign(root_signer, hashes.SHA256())
    issuing_public = _ec_public(store, issuing_name)
    issuing = profile.issuing_builder(issuing_public, root, base_url, now).sign(root_signer, hashes.SHA256())
    try:
        with transaction.atomic():
            root_row = _row(Role.ROOT, root_name, root, base_url)
            _row(Role.ISSUING, issuing_name, issuing, base_url)
            _sign_root_crl(root_row, root, root_signer, now)
            responder = _issue_responder(store, issuing, issuing_name, base_url, now)
    except IntegrityError:
        raise CaError("the platform CA already exists (created concurrently)") from None
    return InitResult(root=root, issuing=issuing, responder=responder)


def _issue_responder(
    store: KeyStore, issuing: x509.Certificate, issuing_key: str, base_url: str, now: datetime
) -> x509.Certificate:
    name = _key_name(Role.OCSP_RESPONDER)
    public_key = _ec_public(store, name)
    certificate = profile.responder_builder(public_key, issuing, now).sign(_signer(store, issuing_key), hashes.SHA256())
    _row(Role.OCSP_RESPONDER, name, certificate, base_url)
    return certificate


def root_crl_next_update(root: x509.Certificate, now: datetime) -> datetime:
    """A day before the end of the longest-lived certificate the root CRL speaks for (the issuing CA, TSA
    certificates without a CRL of their own), at least ``ROOT_CRL_MINIMUM_VALIDITY`` on, never beyond the root."""
    from anchorid.idp.tsa.models import TsaCertificate

    ends = [row.not_after for row in PlatformCertificate.objects.filter(role=Role.ISSUING)]
    ends += [row.not_after for row in TsaCertificate.objects.filter(crl_der=None)]
    latest = max([now + ROOT_CRL_MINIMUM_VALIDITY, *(end - ROOT_CRL_END_MARGIN for end in ends)])
    return min(latest, root.not_valid_after_utc).replace(microsecond=0)


def _sign_root_crl(
    row: PlatformCertificate,
    root: x509.Certificate,
    signer: StoredEcKeySigner,
    now: datetime,
    next_update: datetime | None = None,
) -> datetime:
    row.crl_number += 1
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    next_update = next_update or root_crl_next_update(root, now)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(row.crl_number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key), critical=False)
        # Scoped to its own distribution point, so that it does not speak for TSA certificates with a CRL of their
        # own (an unscoped CRL of the same issuer would count as theirs too, and outlive them).
        .add_extension(
            x509.IssuingDistributionPoint(
                full_name=[x509.UniformResourceIdentifier(row.base_url.rstrip("/") + profile.ROOT_CRL_PATH)],
                relative_name=None,
                only_contains_user_certs=False,
                only_contains_ca_certs=False,
                only_some_reasons=None,
                indirect_crl=False,
                only_contains_attribute_certs=False,
            ),
            critical=True,
        )
    )
    # The issuing CA would be listed here if it were ever revoked; revoking it is a manual, offline act.
    row.crl_der = builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    row.crl_next_update = next_update
    row.save(update_fields=["crl_number", "crl_der", "crl_next_update"])
    return next_update


def resign_root_crl(store: KeyStore, *, now: datetime | None = None, next_update: datetime | None = None) -> datetime:
    """``anchorid idp ca root-crl``: the offline root signs a fresh CRL. Returns its nextUpdate (by default the
    end of the longest-lived certificate it speaks for: ``root_crl_next_update``)."""
    now = now or now_utc()
    with transaction.atomic():
        row = PlatformCertificate.objects.select_for_update().filter(role=Role.ROOT, current=True).first()
        if row is None:
            raise CaNotInitialised()
        root = x509.load_der_x509_certificate(bytes(row.der))
        return _sign_root_crl(row, root, _signer(store, row.key_name), now, next_update)


# --- loading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuingCa:
    row: PlatformCertificate
    certificate: x509.Certificate
    signer: StoredEcKeySigner
    #: (hash algorithm name, issuerNameHash, issuerKeyHash) for the CertID hashes we recognise.
    issuer_hashes: tuple[tuple[str, bytes, bytes], ...]

    def names_issuer(self, algorithm: hashes.HashAlgorithm, name_hash: bytes, key_hash: bytes) -> bool:
        return (algorithm.name, name_hash, key_hash) in self.issuer_hashes


@dataclass(frozen=True)
class Responder:
    certificate: x509.Certificate
    signer: StoredEcKeySigner


CERT_ID_HASHES: tuple[type[hashes.HashAlgorithm], ...] = (hashes.SHA1, hashes.SHA256, hashes.SHA384, hashes.SHA512)


def _issuer_hashes(certificate: x509.Certificate) -> tuple[tuple[str, bytes, bytes], ...]:
    """RFC 6960 §4.1.1: hash of the issuer's DER name, and of its public key's BIT STRING value."""
    name_der = certificate.subject.public_bytes()
    key_bits = certificate.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    result = []
    for algorithm_class in CERT_ID_HASHES:
        algorithm = algorithm_class()
        name_hash = hashes.Hash(algorithm)
        name_hash.update(name_der)
        key_hash = hashes.Hash(algorithm)
        key_hash.update(key_bits)
        result.append((algorithm.name, name_hash.finalize(), key_hash.finalize()))
    return tuple(result)


def platform_certificate(role: str) -> PlatformCertificate:
    row = PlatformCertificate.objects.filter(role=role, current=True).first()
    if row is None:
        raise CaNotInitialised()
    return row


def load_issuing_ca(store: KeyStore) -> IssuingCa:
    row = platform_certificate(Role.ISSUING)
    certificate = x509.load_der_x509_certificate(bytes(row.der))
    return IssuingCa(row, certificate, _signer(store, row.key_name), _issuer_hashes(certificate))


def current_responder(store: KeyStore, issuing: IssuingCa, *, now: datetime | None = None) -> Responder:
    """The delegated responder; re-issued (new key) when its certificate has less than 30 days left."""
    now = now or now_utc()
    row = platform_certificate(Role.OCSP_RESPONDER)
    if row.not_after - now < profile.RESPONDER_RENEWAL_MARGIN:
        with transaction.atomic():
            stale = PlatformCertificate.objects.select_for_update().get(pk=row.pk)
            if stale.current:
                stale.current = False
                stale.save(update_fields=["current"])
                _issue_responder(store, issuing.certificate, issuing.row.key_name, issuing.row.base_url, now)
        row = platform_certificate(Role.OCSP_RESPONDER)
    return Responder(x509.load_der_x509_certificate(bytes(row.der)), _signer(store, row.key_name))


def chain_pem() -> bytes:
    """The issuing CA then the root, PEM: what ``openssl verify -untrusted`` / ``-CAfile`` want."""
    issuing = platform_certificate(Role.ISSUING)
    root = platform_certificate(Role.ROOT)
    return b"".join(
        x509.load_der_x509_certificate(bytes(row.der)).public_bytes(serialization.Encoding.PEM)
        for row in (issuing, root)
    )
