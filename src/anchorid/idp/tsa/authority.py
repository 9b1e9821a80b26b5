"""Create the time-stamp authority's certificate (``anchorid idp tsa init``) and load it for signing.

The TSA key is EC P-256 in the KeyStore (``tsa-<hex>``). Its certificate is issued by the platform **root**,
beside the device issuing CA rather than under it, for two reasons: the issuing CA's OCSP responder and CRL
only know device certificates, and a TSA certificate is a long-lived, offline-issued thing like the issuing CA
itself. Issuing it is therefore an offline-style act (the only other time the root key is loaded besides
``ca init`` and ``ca root-crl``); its revocation status is a CRL of its own, which the root signs in the same
act (and the root CRL is re-signed then too).

Profile (RFC 3161 §2.3, RFC 5280): subject ``CN=AnchorID Time Stamping Authority 1, O=AnchorID``; keyUsage
digitalSignature + nonRepudiation (critical); extendedKeyUsage **id-kp-timeStamping only, critical**;
basicConstraints CA:FALSE (critical); certificatePolicies the TSA policy; SKI/AKI; AIA caIssuers → root
certificate; CRLDP → its own CRL ``/pki/tsa/<serial>.crl`` (signed by the root in the same ceremony, ending a day
before the certificate: ``TSA_CRL_MARGIN``). Validity 10 years (never beyond the root): tokens must stay
verifiable long after they were made, so the certificate outlives the key's use (rotate with ``tsa init
--rotate``; see docs). A PDF's offline horizon is its newest timestamp's TSA CRL's nextUpdate.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from asn1crypto import algos as asn1_algos  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.db import transaction
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from anchorid.common.pki.certificates import authority_information_access, crl_distribution_point
from anchorid.idp.deviceca import profile
from anchorid.idp.deviceca.authority import platform_certificate, resign_root_crl
from anchorid.idp.deviceca.models import PlatformCertificate, serial_hex
from anchorid.idp.keystore import KeyStore, stored_signer
from anchorid.idp.tsa.models import TsaCertificate

TSA_COMMON_NAME: Final = "AnchorID Time Stamping Authority 1"
#: The TSA policy (RFC 3161 §2.4.2 TSTInfo.policy): placeholder arc, like every AnchorID OID (profile.py).
TSA_POLICY: Final = x509.ObjectIdentifier(profile.ANCHORID_ARC + ".3.1")
TSA_VALIDITY: Final = timedelta(days=10 * 365)
#: Each TSA certificate has a CRL of its own (scoped by an issuingDistributionPoint), signed by the root when it
#: is issued, ending this long before the certificate: a PDF carries it, an offline verifier accepts it until its
#: nextUpdate (that is the file's offline horizon), and once the certificate has expired pyHanko's past
#: validation (the ETSI time slide) moves its control time back to that nextUpdate — inside the certificate's
#: validity — so older timestamps still validate. Revocation data outliving the certificate would keep the
#: control time after the end, and the expired certificate would fail (docs/decisions.md).
TSA_CRL_MARGIN: Final = timedelta(days=1)
TSA_CRL_PATH: Final = "/pki/tsa/{serial}.crl"


class TsaError(Exception):
    """The TSA is missing, already there, or cannot sign; the message says which."""


class TsaNotInitialised(TsaError):
    def __init__(self) -> None:
        super().__init__("the time-stamp authority is not initialised: run `anchorid idp tsa init --data DIR`")


def now_utc() -> datetime:
    return datetime.now(UTC)


def tsa_crl_url(base_url: str, serial: int) -> str:
    return base_url.rstrip("/") + TSA_CRL_PATH.format(serial=serial_hex(serial))


def tsa_builder(
    public_key: ec.EllipticCurvePublicKey, root: x509.Certificate, now: datetime, serial: int
) -> x509.CertificateBuilder:
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    base_url = platform_certificate(PlatformCertificate.Role.ROOT).base_url.rstrip("/")
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, profile.ORGANIZATION),
                    x509.NameAttribute(NameOID.COMMON_NAME, TSA_COMMON_NAME),
                ]
            )
        )
        .issuer_name(root.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now - profile.BACKDATE)
        .not_valid_after(min(now + TSA_VALIDITY, root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(TSA_POLICY, None)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key), critical=False)
        .add_extension(
            authority_information_access(ca_issuers=base_url + profile.ROOT_CERTIFICATE_PATH), critical=False
        )
        .add_extension(
            crl_distribution_point(x509.UniformResourceIdentifier(tsa_crl_url(base_url, serial))), critical=False
        )
    )


def sign_tsa_crl(
    certificate: x509.Certificate, root: x509.Certificate, signer: Any, number: int, now: datetime
) -> bytes:
    """The CRL that speaks for ``certificate`` alone (issuingDistributionPoint = its CRLDP; onlyContainsUserCerts),
    empty, from ``now`` to a day before the certificate ends."""
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    base_url = platform_certificate(PlatformCertificate.Role.ROOT).base_url
    scope = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(tsa_crl_url(base_url, certificate.serial_number))],
        relative_name=None,
        only_contains_user_certs=True,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now)
        .next_update(certificate.not_valid_after_utc - TSA_CRL_MARGIN)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key), critical=False)
        .add_extension(scope, critical=True)
        .sign(signer, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def init_tsa(store: KeyStore, *, rotate: bool = False, now: datetime | None = None) -> x509.Certificate:
    """Create the TSA key and have the root certify it. Refuses when one exists unless ``rotate``."""
    now = now or now_utc()
    if TsaCertificate.objects.filter(current=True).exists() and not rotate:
        raise TsaError("the time-stamp authority already exists (use --rotate for a new key and certificate)")
    root_row = platform_certificate(PlatformCertificate.Role.ROOT)
    root = x509.load_der_x509_certificate(bytes(root_row.der))
    key_name = f"tsa-{secrets.token_hex(4)}"
    public_key = store.create_key(key_name, "EC-P256")
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    root_signer = stored_signer(store, root_row.key_name)
    certificate = tsa_builder(public_key, root, now, profile.random_serial()).sign(root_signer, hashes.SHA256())
    with transaction.atomic():
        # The same ceremony publishes the CRL that speaks for the new certificate until a day before its end: a
        # signed PDF carries it, and it is what lets an offline verifier accept the timestamps for as long.
        counter = PlatformCertificate.objects.select_for_update().get(pk=root_row.pk)
        counter.crl_number += 1
        counter.save(update_fields=["crl_number"])
        TsaCertificate.objects.filter(current=True).update(current=False)
        TsaCertificate.objects.create(
            key_name=key_name,
            der=certificate.public_bytes(serialization.Encoding.DER),
            serial=serial_hex(certificate.serial_number),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            crl_der=sign_tsa_crl(certificate, root, root_signer, counter.crl_number, now),
        )
        # The root is loaded anyway: its own CRL is re-signed too, reaching the end of what it still speaks for
        # (the issuing CA; TSA certificates issued before each had a CRL of its own, whose old 90-day root CRL
        # stopped their PDFs verifying offline: rotating is how a deployment of before moves on).
        resign_root_crl(store, now=now)
    return certificate


def tsa_crls() -> list[bytes]:
    """The CRL of every TSA certificate that has one (what the idp embeds for its timestamps)."""
    rows = TsaCertificate.objects.exclude(crl_der=None).order_by("created_at")
    return [bytes(row.crl_der) for row in rows if row.crl_der is not None]


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class KeyStoreCmsSigner(Signer):
    """A pyHanko ``Signer`` whose raw signature comes from the KeyStore (ES256, DER): the key never leaves it."""

    def __init__(
        self, store: KeyStore, key_name: str, certificate: x509.Certificate, chain: list[x509.Certificate]
    ) -> None:
        super().__init__(
            signing_cert=asn1_certificate(certificate),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [asn1_certificate(c) for c in chain]
            ),
            signature_mechanism=asn1_algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            embed_roots=True,
        )
        self._store = store
        self._key_name = key_name

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm.lower() != "sha256":
            raise TsaError(f"the TSA key signs with SHA-256 only, not {digest_algorithm}")
        return self._store.sign(self._key_name, data, "ES256")


@dataclass(frozen=True)
class LoadedTsa:
    certificate: x509.Certificate
    root: x509.Certificate
    signer: KeyStoreCmsSigner


def load_tsa(store: KeyStore) -> LoadedTsa:
    row = TsaCertificate.objects.filter(current=True).first()
    if row is None:
        raise TsaNotInitialised()
    certificate = x509.load_der_x509_certificate(bytes(row.der))
    root = x509.load_der_x509_certificate(bytes(platform_certificate(PlatformCertificate.Role.ROOT).der))
    return LoadedTsa(certificate, root, KeyStoreCmsSigner(store, row.key_name, certificate, [root]))
