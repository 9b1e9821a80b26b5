"""Builders for the JPKI certificate profiles (jpki-reference.md §1).

- §1.1 the two self-signed roots (署名用認証局, 利用者証明用認証局), same DN, extensions, criticality and order as
  the real 2015/2023 roots in ``anchorid/jpki/roots/``;
- §1.2/§1.3 the signature certificate (署名用電子証明書) with the four basic attributes in six ``otherName``
  subjectAltName entries, and the user-authentication certificate (利用者証明用電子証明書) without personal data;
- a delegated OCSP signing certificate for the simulated J-LIS responder (RFC 6960 §4.2.2.2);
- validity to the fifth birthday after issuance.

Every choice made for a fact the reference marks UNCONFIRMED is written down in ``docs/jpki-certificates.md``.
"""

from __future__ import annotations

import calendar
import enum
import secrets
import string
from datetime import UTC, date, datetime, time

from asn1crypto import core  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from anchorid.common.pki import certificates as pki
from anchorid.jpki import oids
from anchorid.jpki.attributes import BasicFourInfo, encode_birth_date


class CertKind(enum.Enum):
    """The two separate JPKI hierarchies (§1.1): a signature cert never chains to the auth CA and vice versa."""

    SIGNATURE = "signature"
    AUTHENTICATION = "authentication"


#: CA certificates and observed end-entity validity end at 14:59:59Z = 23:59:59 JST (§1.1, §1.2).
JST_END_OF_DAY_UTC = time(14, 59, 59)
#: A certificate is valid until the fifth birthday after issuance (§1.2).
BIRTHDAYS_OF_VALIDITY = 5
#: Opaque CN: 23 characters from this alphabet, like the J-LIS test card's ``997794E9AGCIEG13221003A`` (§1.2).
OPAQUE_CN_LENGTH = 23
OPAQUE_CN_ALPHABET = string.ascii_uppercase + string.digits
#: CN of the simulated delegated OCSP responder certificate (our naming; J-LIS's is not public).
OCSP_RESPONDER_CN = "JPKI OCSP Responder"

_OU_BY_KIND = {CertKind.SIGNATURE: oids.CA_OU_SIGNATURE, CertKind.AUTHENTICATION: oids.CA_OU_AUTHENTICATION}
_JA_OU_BY_KIND = {CertKind.SIGNATURE: oids.JA_OU_SIGNATURE, CertKind.AUTHENTICATION: oids.JA_OU_AUTHENTICATION}


def _utf8(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    # cryptography encodes every attribute but C as UTF8String by default; tests compare with the real roots.
    return x509.NameAttribute(oid, value)


def _country_jp() -> x509.NameAttribute[str]:
    # countryName is always PrintableString in cryptography, as in the real roots.
    return x509.NameAttribute(NameOID.COUNTRY_NAME, oids.COUNTRY_JP)


def jpki_ca_name(kind: CertKind, *, test: bool = False) -> x509.Name:
    """The CA distinguished name, byte-for-byte as in the real roots (§1.1).

    ``C=JP`` (PrintableString), ``O=JPKI`` or ``O=JPKI-TEST`` (UTF8String), ``OU=JPKI for digital signature`` |
    ``OU=JPKI for user authentication``, ``OU=Japan Agency for Local Authority Information Systems``.
    """
    return x509.Name(
        [
            _country_jp(),
            _utf8(NameOID.ORGANIZATION_NAME, oids.CA_ORGANIZATION_TEST if test else oids.CA_ORGANIZATION),
            _utf8(NameOID.ORGANIZATIONAL_UNIT_NAME, _OU_BY_KIND[kind]),
            _utf8(NameOID.ORGANIZATIONAL_UNIT_NAME, oids.CA_OU_AGENCY),
        ]
    )


def jpki_japanese_name(kind: CertKind) -> x509.Name:
    """The CA's Japanese name in its subjectAltName (§1.1); also the EE issuerAltName (see docs).

    ``C=JP, O=公的個人認証サービス, OU=公的個人認証サービス署名用 | …利用者証明用, OU=地方公共団体情報システム機構``.
    The test hierarchy uses the same Japanese name (J-LIS publishes no test roots; our choice).
    """
    return x509.Name(
        [
            _country_jp(),
            _utf8(NameOID.ORGANIZATION_NAME, oids.JA_ORGANIZATION),
            _utf8(NameOID.ORGANIZATIONAL_UNIT_NAME, _JA_OU_BY_KIND[kind]),
            _utf8(NameOID.ORGANIZATIONAL_UNIT_NAME, oids.JA_OU_AGENCY),
        ]
    )


def build_ca_certificate(
    kind: CertKind,
    private_key: rsa.RSAPrivateKey,
    *,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    test: bool = False,
) -> x509.Certificate:
    """A self-signed JPKI root with the real roots' extensions, criticality and order (§1.1).

    keyUsage (critical: keyCertSign, cRLSign), subjectAltName (directoryName, Japanese name), basicConstraints
    (critical, CA:TRUE, no pathLen), cRLDistributionPoints (directoryName = the CA DN), subjectKeyIdentifier.
    No AKI, no AIA -- like the real roots.
    """
    name = jpki_ca_name(kind, test=test)
    public_key = private_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(pki.ca_key_usage(), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DirectoryName(jpki_japanese_name(kind))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(pki.crl_distribution_point(x509.DirectoryName(name)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(private_key, hashes.SHA256())


def _ca_kind_and_test(ca_certificate: x509.Certificate) -> tuple[CertKind, bool]:
    for kind in CertKind:
        for test in (False, True):
            if ca_certificate.subject == jpki_ca_name(kind, test=test):
                return kind, test
    raise ValueError(f"not a JPKI CA name: {ca_certificate.subject.rfc4514_string()}")


def _check_issuer(ca_certificate: x509.Certificate, expected: CertKind, test: bool) -> None:
    kind, is_test = _ca_kind_and_test(ca_certificate)
    if kind is not expected:
        raise ValueError(f"a {expected.value} certificate must be issued by the {expected.value} CA, not {kind.value}")
    if is_test is not test:
        raise ValueError(f"test={test} but the CA belongs to the {'test' if is_test else 'production'} hierarchy")


def _end_entity_key_usage(*, non_repudiation: bool) -> x509.KeyUsage:
    return pki.key_usage(digital_signature=True, content_commitment=non_repudiation)


def _policies(policy: x509.ObjectIdentifier) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(policy, [oids.JPKI_CPS_URI])])


def utf8_other_name(type_id: x509.ObjectIdentifier, value: str) -> x509.OtherName:
    """``otherName { type-id, [0] EXPLICIT UTF8String }`` (§1.3); cryptography adds the [0] EXPLICIT wrapper."""
    return x509.OtherName(type_id, core.UTF8String(value).dump())


def basic_four_info_san(info: BasicFourInfo) -> x509.SubjectAlternativeName:
    """The six otherName entries in the real-certificate order .1, .4, .3, .5, .2, .6 (§1.3)."""
    values = {
        oids.SAN_COMMON_NAME: info.name,
        oids.SAN_DATE_OF_BIRTH: encode_birth_date(info.birth_date),
        oids.SAN_GENDER: info.gender.value,
        oids.SAN_ADDRESS: info.address,
        oids.SAN_NAME_SUBSTITUTES: info.name_substitutes,
        oids.SAN_ADDRESS_SUBSTITUTES: info.address_substitutes,
    }
    return x509.SubjectAlternativeName([utf8_other_name(oid, values[oid]) for oid in oids.SAN_OTHERNAME_ORDER])


def _end_entity_builder(
    *,
    ca_certificate: x509.Certificate,
    public_key: rsa.RSAPublicKey,
    subject: x509.Name,
    serial: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    if public_key.key_size < oids.RSA_KEY_BITS:
        raise ValueError(f"JPKI keys are RSA-{oids.RSA_KEY_BITS}, got {public_key.key_size} bits")
    return pki.issued_by(
        ca_certificate,
        subject=subject,
        public_key=public_key,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
    )


def build_signature_certificate(
    *,
    ca_certificate: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    public_key: rsa.RSAPublicKey,
    info: BasicFourInfo,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    locality: str,
    test: bool = False,
    prefecture: str | None = None,
    subject_cn: str | None = None,
    crl_distribution_point: x509.GeneralName | None = None,
) -> x509.Certificate:
    """A 署名用電子証明書 (§1.2, §1.3).

    Subject (RDN list UNCONFIRMED, our choice): ``C=JP[, L=<prefecture romaji>], L=<municipality romaji>,
    CN=<opaque id>`` -- the test card's ``L=Kiyose-shi`` shows the municipality; the prefecture RDN is only
    "recalled" and so is optional. ``subject_cn`` defaults to :func:`new_opaque_cn`.
    Extensions in this order: keyUsage (critical: digitalSignature, nonRepudiation), certificatePolicies
    (critical: sign-class20, or the test policy, with the CPS URI), subjectAltName (the six otherNames),
    issuerAltName (the CA's Japanese directoryName), cRLDistributionPoints (default: directoryName of the CA DN,
    like the roots; pass a URI for an HTTP CRL), authorityKeyIdentifier.
    """
    _check_issuer(ca_certificate, CertKind.SIGNATURE, test)
    rdns = [_country_jp()]
    if prefecture is not None:
        rdns.append(_utf8(NameOID.LOCALITY_NAME, prefecture))
    rdns.append(_utf8(NameOID.LOCALITY_NAME, locality))
    rdns.append(_utf8(NameOID.COMMON_NAME, subject_cn if subject_cn is not None else new_opaque_cn()))
    builder = (
        _end_entity_builder(
            ca_certificate=ca_certificate,
            public_key=public_key,
            subject=x509.Name(rdns),
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(_end_entity_key_usage(non_repudiation=True), critical=True)
        .add_extension(_policies(oids.POLICY_TEST_SIGN if test else oids.POLICY_SIGN_CLASS20), critical=True)
        .add_extension(basic_four_info_san(info), critical=False)
        .add_extension(
            x509.IssuerAlternativeName([x509.DirectoryName(jpki_japanese_name(CertKind.SIGNATURE))]), critical=False
        )
        .add_extension(
            pki.crl_distribution_point(crl_distribution_point or x509.DirectoryName(ca_certificate.subject)),
            critical=False,
        )
        .add_extension(_authority_key_identifier(ca_certificate), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def build_auth_certificate(
    *,
    ca_certificate: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    public_key: rsa.RSAPublicKey,
    subject_cn: str,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    test: bool = False,
    crl_distribution_point: x509.GeneralName | None = None,
) -> x509.Certificate:
    """A 利用者証明用電子証明書 (§1.2): ``C=JP, CN=<opaque id>``, no personal data anywhere.

    keyUsage (critical: digitalSignature only), certificatePolicies (critical: auth-class30 or the test policy,
    with the CPS URI), issuerAltName, cRLDistributionPoints, authorityKeyIdentifier; no subjectAltName.
    """
    _check_issuer(ca_certificate, CertKind.AUTHENTICATION, test)
    subject = x509.Name([_country_jp(), _utf8(NameOID.COMMON_NAME, subject_cn)])
    builder = (
        _end_entity_builder(
            ca_certificate=ca_certificate,
            public_key=public_key,
            subject=subject,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(_end_entity_key_usage(non_repudiation=False), critical=True)
        .add_extension(_policies(oids.POLICY_TEST_AUTH if test else oids.POLICY_AUTH_CLASS30), critical=True)
        .add_extension(
            x509.IssuerAlternativeName([x509.DirectoryName(jpki_japanese_name(CertKind.AUTHENTICATION))]),
            critical=False,
        )
        .add_extension(
            pki.crl_distribution_point(crl_distribution_point or x509.DirectoryName(ca_certificate.subject)),
            critical=False,
        )
        .add_extension(_authority_key_identifier(ca_certificate), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def _authority_key_identifier(ca_certificate: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(_rsa_public_key(ca_certificate))
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _rsa_public_key(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("JPKI certificates carry RSA keys")
    return key


def build_ocsp_responder_certificate(
    *,
    ca_certificate: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    public_key: rsa.RSAPublicKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A delegated OCSP signing certificate issued by ``ca_certificate`` (RFC 6960 §4.2.2.2, §4.2.2.2.1).

    Subject: the CA DN plus ``CN=JPKI OCSP Responder``; keyUsage (critical: digitalSignature), extendedKeyUsage
    id-kp-OCSPSigning, id-pkix-ocsp-nocheck (the responder certificate itself is not revocation-checked),
    basicConstraints CA:FALSE, AKI, SKI. J-LIS's real responder certificate is not public: this shape is ours.
    """
    subject = x509.Name([*ca_certificate.subject, _utf8(NameOID.COMMON_NAME, OCSP_RESPONDER_CN)])
    builder = (
        _end_entity_builder(
            ca_certificate=ca_certificate,
            public_key=public_key,
            subject=subject,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(_end_entity_key_usage(non_repudiation=False), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(_authority_key_identifier(ca_certificate), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def _birthday_in(year: int, birth_date: date) -> date:
    """The birthday in ``year``; a 29 February birthday falls on 28 February in common years (our choice)."""
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birth_date.replace(year=year)


def _end_of_jst_day(day: date) -> datetime:
    return datetime.combine(day, JST_END_OF_DAY_UTC, tzinfo=UTC)


def certificate_not_after(birth_date: date, issued_on: date, card_expiry: date | None = None) -> datetime:
    """notAfter of a JPKI end-entity certificate (§1.2).

    The fifth birthday strictly after ``issued_on`` (a certificate issued on a birthday does not count that
    day), at 14:59:59Z = 23:59:59 JST (the CA certificates' time of day; for EE certificates UNCONFIRMED), but
    never after the end of ``card_expiry``'s JST day. A renewal requested within 3 months of expiry gets the
    sixth birthday: the caller then passes an ``issued_on`` that makes the count come out (or post-processes);
    a signature certificate also may not outlive the auth certificate -- both are caller concerns.
    """
    if birth_date > issued_on:
        raise ValueError("birth date is after the issuance date")
    first_year = issued_on.year if _birthday_in(issued_on.year, birth_date) > issued_on else issued_on.year + 1
    birthday = _birthday_in(first_year + BIRTHDAYS_OF_VALIDITY - 1, birth_date)
    not_after = _end_of_jst_day(birthday)
    if card_expiry is not None:
        not_after = min(not_after, _end_of_jst_day(card_expiry))
    return not_after


def new_opaque_cn() -> str:
    """A fresh opaque subject CN: 23 uppercase letters and digits, like the J-LIS test card's (§1.2)."""
    return "".join(secrets.choice(OPAQUE_CN_ALPHABET) for _ in range(OPAQUE_CN_LENGTH))
