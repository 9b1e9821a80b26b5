"""Certificate extensions that several profiles build the same way (RFC 5280 §4.2.1).

Used by the JPKI profiles (``anchorid.jpki.profiles``) and the platform CA (``anchorid.idp.deviceca.profile``);
any other CA profile can take them too (e.g. the signing certificates of ``anchorid.idp.signing``).
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID


def key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    """§4.2.1.3 keyUsage with only the named bits set (no CA of ours enciphers or agrees keys)."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def ca_key_usage() -> x509.KeyUsage:
    """A CA's keyUsage: keyCertSign and cRLSign."""
    return key_usage(key_cert_sign=True, crl_sign=True)


def crl_distribution_point(location: x509.GeneralName) -> x509.CRLDistributionPoints:
    """§4.2.1.13 cRLDistributionPoints with one full name (a URI, or a directoryName like the JPKI roots')."""
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint(full_name=[location], relative_name=None, reasons=None, crl_issuer=None)]
    )


def issued_by(
    issuer: x509.Certificate,
    *,
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    serial: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    """A builder for a certificate ``issuer`` signs: names, key, serial and validity; the caller adds extensions
    in its profile's order."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def authority_information_access(
    *, ocsp: str | None = None, ca_issuers: str | None = None
) -> x509.AuthorityInformationAccess:
    """§4.2.2.1 authorityInfoAccess: the OCSP responder URL, then the issuer certificate's URL (either optional)."""
    descriptions = [
        x509.AccessDescription(method, x509.UniformResourceIdentifier(url))
        for method, url in (
            (AuthorityInformationAccessOID.OCSP, ocsp),
            (AuthorityInformationAccessOID.CA_ISSUERS, ca_issuers),
        )
        if url is not None
    ]
    return x509.AuthorityInformationAccess(descriptions)
