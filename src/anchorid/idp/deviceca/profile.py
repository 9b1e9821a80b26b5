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
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from anchorid.common.pki.certificates import (
    authority_information_access,
    ca_key_usage,
    crl_distribution_point,
    issued_by,
    key_usage,
)

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


def _signing_key_usage() -> x509.KeyUsage:
    return key_usage(digital_signature=True)


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
        .add_extension(ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def issuing_builder(
    public_key: ec.EllipticCurvePublicKey, root: x509.Certificate, base_url: str, now: datetime
) -> x509.CertificateBuilder:
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    return (
        issued_by(
            root,
            subject=_name(ISSUING_COMMON_NAME),
            public_key=public_key,
            serial=random_serial(),
            not_before=now - BACKDATE,
            not_after=min(now + ISSUING_VALIDITY, root.not_valid_after_utc),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(root_key), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(DEVICE_CERTIFICATE_POLICY, None)]), critical=False
        )
        .add_extension(_crl_distribution_point(_url(base_url, ROOT_CRL_PATH)), critical=False)
        .add_extension(
            authority_information_access(ca_issuers=_url(base_url, ROOT_CERTIFICATE_PATH)),
            critical=False,
        )
    )


def _end_entity_builder(
    public_key: ec.EllipticCurvePublicKey,
    issuing: x509.Certificate,
    *,
    subject: x509.Name,
    serial: int,
    not_after: datetime,
    now: datetime,
    usage: x509.KeyUsage,
    extended_usage: x509.ObjectIdentifier | None,
) -> x509.CertificateBuilder:
    """What every certificate of the issuing CA starts with: CA:FALSE, keyUsage, [EKU], SKI, AKI."""
    issuing_key = issuing.public_key()
    assert isinstance(issuing_key, ec.EllipticCurvePublicKey)
    builder = (
        issued_by(
            issuing,
            subject=subject,
            public_key=public_key,
            serial=serial,
            not_before=now - BACKDATE,
            not_after=min(not_after, issuing.not_valid_after_utc),
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
    )
    if extended_usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([extended_usage]), critical=False)
    return builder


def responder_builder(
    public_key: ec.EllipticCurvePublicKey, issuing: x509.Certificate, now: datetime
) -> x509.CertificateBuilder:
    """A delegated OCSP signer (RFC 6960 §4.2.2.2): issued by the issuing CA itself, id-kp-OCSPSigning."""
    issuing_key = issuing.public_key()
    assert isinstance(issuing_key, ec.EllipticCurvePublicKey)
    return (
        _end_entity_builder(
            public_key,
            issuing,
            subject=_name(RESPONDER_COMMON_NAME),
            serial=random_serial(),
            not_after=now + RESPONDER_VALIDITY,
            now=now,
            usage=_signing_key_usage(),
            extended_usage=ExtendedKeyUsageOID.OCSP_SIGNING,
        )
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuing_key), critical=False)
    )


def resident_certificate_builder(
    public_key: ec.EllipticCurvePublicKey,
    issuing: x509.Certificate,
    *,
    subject_id: str,
    serial: int,
    acr: str,
    base_url: str,
    not_after: datetime,
    now: datetime,
    usage: x509.KeyUsage,
    policy: x509.ObjectIdentifier,
    extended_usage: x509.ObjectIdentifier | None,
) -> x509.CertificateBuilder:
    """A resident's certificate from the issuing CA: an opaque subject, CA:FALSE, ``usage``, [EKU], SKI, AKI,
    ``policy``, the acr, AIA (OCSP, issuer) and CRLDP. The device certificate is one (:func:`device_builder`); a
    wallet signing certificate is another (``usage`` with nonRepudiation, its own policy, no EKU)."""
    issuing_key = issuing.public_key()
    assert isinstance(issuing_key, ec.EllipticCurvePublicKey)
    return (
        _end_entity_builder(
            public_key,
            issuing,
            subject=_name(subject_id),
            serial=serial,
            not_after=not_after,
            now=now,
            usage=usage,
            extended_usage=extended_usage,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuing_key), critical=False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(policy, None)]), critical=False)
        .add_extension(assurance_extension(acr), critical=False)
        .add_extension(
            authority_information_access(
                ocsp=_url(base_url, OCSP_PATH), ca_issuers=_url(base_url, ISSUING_CERTIFICATE_PATH)
            ),
            critical=False,
        )
        .add_extension(_crl_distribution_point(_url(base_url, ISSUING_CRL_PATH)), critical=False)
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
    return resident_certificate_builder(
        public_key,
        issuing,
        subject_id=subject_id,
        serial=serial,
        acr=acr,
        base_url=base_url,
        not_after=now + DEVICE_VALIDITY,
        now=now,
        usage=_signing_key_usage(),
        policy=DEVICE_CERTIFICATE_POLICY,
        extended_usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )


def _crl_distribution_point(url: str) -> x509.CRLDistributionPoints:
    return crl_distribution_point(x509.UniformResourceIdentifier(url))
