"""Object identifiers and certificate profiles of the platform CA (docs/device-certificates.md).

PLACEHOLDER ARC: ``1.3.6.1.4.1.32473`` is the enterprise number RFC 5612 reserves for documentation
examples. AnchorID has no Private Enterprise Number yet; before production, register one with IANA and
replace ``ANCHORID_ARC`` (certificates issued under the placeholder must then be re-issued).

- ``DEVICE_CERTIFICATE_POLICY`` (arc.1.1): "an AnchorID device certificate, v1": the key was enrolled by a
  resident who proved their identity with the My Number Card (directly, or through a session that did).
- ``ASSURANCE_LEVEL_EXTENSION`` (arc.2.1): a small non-critical extension whose value is a DER UTF8String
  holding the ``acr`` (``anchorid.idp.assurance``) a login with this key reaches. An extension rather than a
  policy qualifier: RFC 5280 §4.2.1.4 restricts qualifiers to CPS pointers and user notices (display text).
- EKU is ``clientAuth`` only: the key authenticates a resident (TLS client auth, challenge signatures).
  ``emailProtection`` is deliberately absent; document signing with the wallet key comes in issue #6 and will
  get its own certificate and policy rather than widening this one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Final

from asn1crypto import core as asn1_core  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

ANCHORID_ARC: Final = "1.3.6.1.4.1.32473.7"  # placeholder, see the module docstring
DEVICE_CERTIFICATE_POLICY: Final = x509.ObjectIdentifier(ANCHORID_ARC + ".1.1")
ASSURANCE_LEVEL_EXTENSION: Final = x509.ObjectIdentifier(ANCHORID_ARC + ".2.1")

ORGANIZATION: Final = "AnchorID"
ROOT_COMMON_NAME: Final = "AnchorID Root CA 1"
ISSUING_COMMON_NAME: Final = "AnchorID Device Issuing CA 1"
RESPONDER_COMMON_NAME: Final = "AnchorID Device OCSP Responder"

ROOT_VALIDITY: Final = timedelta(days=20 * 365)
ISSUING_VALIDITY: Final = timedelta(days=10 * 365)
RESPONDER_VALIDITY: Final = timedelta(days=365)
#: The responder certificate is replaced when less than this is left.
RESPONDER_RENEWAL_MARGIN: Final = timedelta(days=30)
DEVICE_VALIDITY: Final = timedelta(days=365)
#: Tolerate clocks a little behind ours.
BACKDATE: Final = timedelta(minutes=5)

SERIAL_BITS: Final = 159
SUBJECT_ID_PREFIX: Final = "dc_"

PKI_PATH: Final = "/pki/"
OCSP_PATH: Final = PKI_PATH + "ocsp"
ROOT_CERTIFICATE_PATH: Final = PKI_PATH + "root.cer"
ISSUING_CERTIFICATE_PATH: Final = PKI_PATH + "issuing.cer"
RESPONDER_CERTIFICATE_PATH: Final = PKI_PATH + "ocsp.cer"
ROOT_CRL_PATH: Final = PKI_PATH + "root.crl"
ISSUING_CRL_PATH: Final = PKI_PATH + "issuing.crl"


def random_serial() -> int:
    """159 random bits, never zero: positive and at most 20 octets (RFC 5280 §4.1.2.2)."""
    while True:
        serial = secrets.randbits(SERIAL_BITS)
        if serial:
            return serial


def new_subject_id() -> str:
    """The opaque CN of a device certificate: 128 random bits, nothing derived from the resident."""
    return SUBJECT_ID_PREFIX + secrets.token_hex(16)


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def public_key_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def assurance_extension(acr: str) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(ASSURANCE_LEVEL_EXTENSION, asn1_core.UTF8String(acr).dump())


def acr_of(certificate: x509.Certificate) -> str | None:
    """The acr a device certificate carries, or None."""
    try:
        value = certificate.extensions.get_extension_for_oid(ASSURANCE_LEVEL_EXTENSION).value
    except x509.ExtensionNotFound:
        return None
    if not isinstance(value, x509.UnrecognizedExtension):
        return None
    try:
        parsed = asn1_core.UTF8String.load(value.value, strict=True)
        return str(parsed.native)
    except (ValueError, TypeError):
        return None


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _aki(issuer_public_key: ec.EllipticCurvePublicKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key)


def root_builder(public_key: ec.EllipticCurvePublicKey, now: datetime) -> x509.CertificateBuilder:
    name = _name(ROOT_COMMON_NAME)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def issuing_builder(
    public_key: ec.EllipticCurvePublicKey, root: x509.Certificate, base_url: str, now: datetime
) -> x509.CertificateBuilder:
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(ISSUING_COMMON_NAME))
        .issuer_name(root.subject)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + ISSUING_VALIDITY, root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(root_key), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(DEVICE_CERTIFICATE_POLICY, None)]), critical=False
        )
        .add_extension(_crl_distribution_point(_url(base_url, ROOT_CRL_PATH)), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(_url(base_url, ROOT_CERTIFICATE_PATH)),
                    )
                ]
            ),
            critical=False,
        )
    )


def responder_builder(
    public_key: ec.EllipticCurvePublicKey, issuing: x509.Certificate, now: datetime
) -> x509.CertificateBuilder:
    """A delegated OCSP signer (RFC 6960 §4.2.2.2): issued by the issuing CA itself, id-kp-OCSPSigning."""
    issuing_key = issuing.public_key()
    assert isinstance(issuing_key, ec.EllipticCurvePublicKey)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(RESPONDER_COMMON_NAME))
        .issuer_name(issuing.subject)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + RESPONDER_VALIDITY, issuing.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuing_key), critical=False)
    )


def device_builder(
    public_key: ec.EllipticCurvePublicKey,
    issuing: x509.Certificate,
    *,
    subject_id: str,
    serial: int,
    acr: str,
    base_url: str,
    now: datetime,
) -> x509.CertificateBuilder:
    """The device certificate: an opaque subject, the platform policy, the acr, clientAuth, AIA and CRLDP."""
    issuing_key = issuing.public_key()
    assert isinstance(issuing_key, ec.EllipticCurvePublicKey)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject_id))
        .issuer_name(issuing.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + DEVICE_VALIDITY, issuing.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuing_key), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(DEVICE_CERTIFICATE_POLICY, None)]), critical=False
        )
        .add_extension(assurance_extension(acr), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(_url(base_url, OCSP_PATH)),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(_url(base_url, ISSUING_CERTIFICATE_PATH)),
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(_crl_distribution_point(_url(base_url, ISSUING_CRL_PATH)), critical=False)
    )


def _crl_distribution_point(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None
            )
        ]
    )
