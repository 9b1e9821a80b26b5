"""Parse JPKI certificates into frozen value objects; reject anything that breaks the profile.

jpki-reference.md §1: §1.1 the CA roots, §1.2 the end-entity certificates, §1.3 the signature certificate's six
``otherName`` subjectAltName entries (the four basic attributes). Every rejection is a :class:`ProfileViolation`
whose ``rule`` is a short, stable identifier (``"san.otherName.count"``, ``"keyUsage.nonRepudiation"``,
``"ca.dn"`` …) and whose message says what broke. The full rule list is in ``docs/jpki-certificates.md``.

Encoding leniency (decided, documented): an ``otherName`` value may be a UTF8String (what the real cards and our
builders use) or an OCTET STRING holding valid UTF-8 (Hitachi's verifier accepts both); anything else is
rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict, TypeVar

from asn1crypto import core  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from anchorid.jpki import oids
from anchorid.jpki.attributes import (
    BasicFourInfo,
    Gender,
    InvalidAttribute,
    check_substitute_map,
    decode_birth_date,
)
from anchorid.jpki.profiles import CertKind, jpki_ca_name

_SIGNATURE_POLICIES = {oids.POLICY_SIGN_CLASS20: False, oids.POLICY_TEST_SIGN: True}
_AUTH_POLICIES = {oids.POLICY_AUTH_CLASS30: False, oids.POLICY_TEST_AUTH: True}

#: Extensions a JPKI certificate may carry; any other extension marked critical is rejected (RFC 5280 §4.2).
_KNOWN_EXTENSIONS = frozenset(
    {
        ExtensionOID.KEY_USAGE,
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.BASIC_CONSTRAINTS,
    }
)


_E = TypeVar("_E", bound=x509.ExtensionType)


class ProfileViolation(ValueError):
    """A certificate breaks the JPKI profile; ``rule`` names the rule (stable id), the message says how."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message


@dataclass(frozen=True, slots=True)
class JPKICertificate:
    """What every JPKI certificate states. ``policy`` is ``None`` for CA certificates (they carry none)."""

    certificate: x509.Certificate
    kind: CertKind
    serial: int
    issuer: x509.Name
    subject: x509.Name
    not_before: datetime
    not_after: datetime
    policy: x509.ObjectIdentifier | None
    is_test: bool


@dataclass(frozen=True, slots=True)
class JPKICACertificate(JPKICertificate):
    """A JPKI root (§1.1): self-signed, one per hierarchy and generation."""


@dataclass(frozen=True, slots=True)
class SignatureCertificate(JPKICertificate):
    """A 署名用電子証明書 (§1.2, §1.3): the opaque subject CN, its locality RDNs, and the four basic attributes."""

    subject_cn: str
    localities: tuple[str, ...]
    info: BasicFourInfo


@dataclass(frozen=True, slots=True)
class AuthCertificate(JPKICertificate):
    """A 利用者証明用電子証明書 (§1.2): only ``C=JP`` and an opaque CN, no personal data."""

    subject_cn: str


def _ca_identity(name: x509.Name) -> tuple[CertKind, bool] | None:
    """Which hierarchy a JPKI CA DN belongs to, comparing the DER (so string encodings must match too)."""
    der = name.public_bytes()
    for kind in CertKind:
        for test in (False, True):
            if jpki_ca_name(kind, test=test).public_bytes() == der:
                return kind, test
    return None


def kind_of(certificate: x509.Certificate) -> CertKind:
    """The hierarchy an end-entity certificate's issuer DN names; :class:`ProfileViolation` if no JPKI CA."""
    identity = _ca_identity(certificate.issuer)
    if identity is None:
        raise ProfileViolation("issuer.dn", f"issuer {certificate.issuer.rfc4514_string()} is not a JPKI CA DN")
    return identity[0]


# --- common checks -----------------------------------------------------------------------------------------


def _check_common(certificate: x509.Certificate) -> None:
    if certificate.version is not x509.Version.v3:
        raise ProfileViolation("version", "JPKI certificates are X.509 v3")
    if certificate.signature_algorithm_oid != oids.SHA256_WITH_RSA:
        raise ProfileViolation(
            "algorithm.signature",
            f"signature algorithm {certificate.signature_algorithm_oid.dotted_string} is not sha256WithRSAEncryption",
        )
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ProfileViolation("key.type", f"public key is {type(key).__name__}, JPKI uses RSA")
    if key.key_size < oids.RSA_KEY_BITS:
        raise ProfileViolation("key.size", f"RSA key has {key.key_size} bits, JPKI requires {oids.RSA_KEY_BITS}")
    if key.public_numbers().e != oids.RSA_PUBLIC_EXPONENT:
        raise ProfileViolation("key.exponent", f"RSA public exponent is {key.public_numbers().e}, not 65537")
    if certificate.not_valid_before_utc >= certificate.not_valid_after_utc:
        raise ProfileViolation("validity.order", "notBefore is not before notAfter")
    try:
        extensions = certificate.extensions
    except ValueError as error:
        raise ProfileViolation("extension.malformed", f"extensions do not parse: {error}") from None
    for extension in extensions:
        if extension.critical and extension.oid not in _KNOWN_EXTENSIONS:
            raise ProfileViolation("extension.critical", f"unknown critical extension {extension.oid.dotted_string}")


def _extension(certificate: x509.Certificate, extension_class: type[_E], rule: str, *, critical: bool) -> _E:
    try:
        extension = certificate.extensions.get_extension_for_class(extension_class)
    except x509.ExtensionNotFound:
        raise ProfileViolation(f"{rule}.missing", f"the {rule} extension is missing") from None
    if extension.critical is not critical:
        raise ProfileViolation(f"{rule}.critical", f"the {rule} extension must {'' if critical else 'not '}be critical")
    return extension.value


def _has_extension(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    try:
        certificate.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return False
    return True


_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)
_KEY_USAGE_RULE = {
    "digital_signature": "keyUsage.digitalSignature",
    "content_commitment": "keyUsage.nonRepudiation",
    "key_cert_sign": "keyUsage.keyCertSign",
    "crl_sign": "keyUsage.cRLSign",
}


def _check_key_usage(certificate: x509.Certificate, expected: frozenset[str]) -> None:
    """keyUsage is critical and asserts exactly ``expected`` (§1.1, §1.2)."""
    usage = _extension(certificate, x509.KeyUsage, "keyUsage", critical=True)
    for bit in _KEY_USAGE_BITS:
        present = bool(getattr(usage, bit))
        if present is not (bit in expected):
            rule = _KEY_USAGE_RULE.get(bit, "keyUsage.extra")
            raise ProfileViolation(rule, f"keyUsage {bit} must be {'set' if bit in expected else 'clear'}")


def _check_policy(
    certificate: x509.Certificate, allowed: dict[x509.ObjectIdentifier, bool]
) -> tuple[x509.ObjectIdentifier, bool]:
    """certificatePolicies is critical with exactly one allowed policy and the JPKI CPS qualifier (§1.2)."""
    policies = _extension(certificate, x509.CertificatePolicies, "policy", critical=True)
    if len(policies) != 1:
        raise ProfileViolation("policy.count", f"expected one policy, found {len(policies)}")
    information = policies[0]
    if information.policy_identifier not in allowed:
        raise ProfileViolation(
            "policy.oid", f"policy {information.policy_identifier.dotted_string} is not allowed for this certificate"
        )
    if oids.JPKI_CPS_URI not in (information.policy_qualifiers or []):
        raise ProfileViolation("policy.cps", f"the policy lacks the CPS qualifier {oids.JPKI_CPS_URI}")
    return information.policy_identifier, allowed[information.policy_identifier]


def _check_issuer(certificate: x509.Certificate, kind: CertKind) -> bool:
    identity = _ca_identity(certificate.issuer)
    if identity is None:
        raise ProfileViolation("issuer.dn", f"issuer {certificate.issuer.rfc4514_string()} is not a JPKI CA DN")
    issuer_kind, is_test = identity
    if issuer_kind is not kind:
        raise ProfileViolation("issuer.hierarchy", f"a {kind.value} certificate issued by the {issuer_kind.value} CA")
    return is_test


def _subject_cn(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not isinstance(names[0].value, str) or not names[0].value:
        raise ProfileViolation("subject.cn", "the subject must carry exactly one non-empty CN")
    return names[0].value


def _check_subject_country(certificate: x509.Certificate) -> None:
    countries = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    if [c.value for c in countries] != [oids.COUNTRY_JP]:
        raise ProfileViolation("subject.country", "the subject must carry exactly one C=JP")


class _CommonFields(TypedDict):
    certificate: x509.Certificate
    kind: CertKind
    serial: int
    issuer: x509.Name
    subject: x509.Name
    not_before: datetime
    not_after: datetime
    policy: x509.ObjectIdentifier | None
    is_test: bool


def _common_fields(
    certificate: x509.Certificate, kind: CertKind, policy: x509.ObjectIdentifier | None, is_test: bool
) -> _CommonFields:
    return {
        "certificate": certificate,
        "kind": kind,
        "serial": certificate.serial_number,
        "issuer": certificate.issuer,
        "subject": certificate.subject,
        "not_before": certificate.not_valid_before_utc,
        "not_after": certificate.not_valid_after_utc,
        "policy": policy,
        "is_test": is_test,
    }


# --- the signature certificate's subjectAltName (§1.3) ------------------------------------------------------

_SAN_RULE_NAMES = {
    oids.SAN_COMMON_NAME: "commonName",
    oids.SAN_NAME_SUBSTITUTES: "nameSubstitutes",
    oids.SAN_GENDER: "gender",
    oids.SAN_DATE_OF_BIRTH: "dateOfBirth",
    oids.SAN_ADDRESS: "address",
    oids.SAN_ADDRESS_SUBSTITUTES: "addressSubstitutes",
}


def _other_name_text(other_name: x509.OtherName) -> str:
    """The text of ``[0] EXPLICIT UTF8String`` (or OCTET STRING holding UTF-8; see module docstring)."""
    name = _SAN_RULE_NAMES[other_name.type_id]
    try:
        value = core.Asn1Value.load(other_name.value, strict=True)
        if isinstance(value, core.UTF8String):
            text = value.native
        elif isinstance(value, core.OctetString):
            text = value.native.decode("utf-8")
        else:
            raise ProfileViolation("san.otherName.encoding", f"{name} is a {type(value).__name__}, expected UTF8String")
    except (ValueError, TypeError) as error:  # asn1crypto raises ValueError; bad UTF-8 is a UnicodeDecodeError
        raise ProfileViolation("san.otherName.encoding", f"{name} is not valid DER UTF-8 text: {error}") from None
    if not isinstance(text, str):
        raise ProfileViolation("san.otherName.encoding", f"{name} did not decode to text")
    return text


def parse_basic_four_info(san: x509.SubjectAlternativeName) -> BasicFourInfo:
    """The four basic attributes from the six ``otherName`` entries (any order; exactly one of each)."""
    entries = list(san)
    other_names = [entry for entry in entries if isinstance(entry, x509.OtherName)]
    if len(other_names) != len(entries):
        raise ProfileViolation("san.generalName", "the subjectAltName may hold only otherName entries")
    if len(other_names) != len(oids.SAN_OTHERNAME_ORDER):
        raise ProfileViolation(
            "san.otherName.count", f"expected {len(oids.SAN_OTHERNAME_ORDER)} otherName entries, found {len(entries)}"
        )
    values: dict[x509.ObjectIdentifier, str] = {}
    for other_name in other_names:
        if other_name.type_id not in _SAN_RULE_NAMES:
            raise ProfileViolation("san.otherName.oid", f"unknown otherName type {other_name.type_id.dotted_string}")
        if other_name.type_id in values:
            raise ProfileViolation("san.otherName.oid", f"duplicate otherName type {other_name.type_id.dotted_string}")
        values[other_name.type_id] = _other_name_text(other_name)
    name = values[oids.SAN_COMMON_NAME]
    address = values[oids.SAN_ADDRESS]
    try:
        birth_date = decode_birth_date(values[oids.SAN_DATE_OF_BIRTH])
    except InvalidAttribute as error:
        raise ProfileViolation("san.dateOfBirth", str(error)) from None
    try:
        gender = Gender(values[oids.SAN_GENDER])
    except ValueError:
        raise ProfileViolation("san.gender", f"gender {values[oids.SAN_GENDER]!r} is not 1, 2 or 3") from None
    for text, mapping, what, rule in (
        (name, values[oids.SAN_NAME_SUBSTITUTES], "name", "san.nameSubstitutes"),
        (address, values[oids.SAN_ADDRESS_SUBSTITUTES], "address", "san.addressSubstitutes"),
    ):
        try:
            check_substitute_map(text, mapping, what)
        except InvalidAttribute as error:
            raise ProfileViolation(rule, str(error)) from None
    try:
        return BasicFourInfo(
            name=name,
            birth_date=birth_date,
            gender=gender,
            address=address,
            name_substitutes=values[oids.SAN_NAME_SUBSTITUTES],
            address_substitutes=values[oids.SAN_ADDRESS_SUBSTITUTES],
        )
    except InvalidAttribute as error:
        raise ProfileViolation("san.value", str(error)) from None


# --- the three parsers --------------------------------------------------------------------------------------


def parse_signature_certificate(cert: x509.Certificate) -> SignatureCertificate:
    """A 署名用電子証明書 per §1.2/§1.3, or :class:`ProfileViolation`.

    Subject: C=JP, one or more L, one CN (the L list is UNCONFIRMED, so any number ≥ 1 is accepted); keyUsage
    critical digitalSignature+nonRepudiation; certificatePolicies critical sign-class20 (or the test policy) with
    the CPS URI; exactly six otherNames with valid values; issuer a JPKI signature CA DN.
    """
    _check_common(cert)
    is_test = _check_issuer(cert, CertKind.SIGNATURE)
    _check_key_usage(cert, frozenset({"digital_signature", "content_commitment"}))
    policy, policy_is_test = _check_policy(cert, _SIGNATURE_POLICIES)
    if policy_is_test is not is_test:
        raise ProfileViolation("policy.hierarchy", "the policy and the issuer disagree on test vs production")
    _check_subject_country(cert)
    subject_cn = _subject_cn(cert)
    localities = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.LOCALITY_NAME))
    if not localities:
        raise ProfileViolation("subject.locality", "the signature certificate subject carries no locality (L)")
    allowed = {NameOID.COUNTRY_NAME, NameOID.LOCALITY_NAME, NameOID.COMMON_NAME}
    extra = [a.oid.dotted_string for a in cert.subject if a.oid not in allowed]
    if extra:
        raise ProfileViolation("subject.shape", f"unexpected subject attributes {extra}")
    san = _extension(cert, x509.SubjectAlternativeName, "san", critical=False)
    info = parse_basic_four_info(san)
    return SignatureCertificate(
        **_common_fields(cert, CertKind.SIGNATURE, policy, is_test),
        subject_cn=subject_cn,
        localities=localities,
        info=info,
    )


def parse_auth_certificate(cert: x509.Certificate) -> AuthCertificate:
    """A 利用者証明用電子証明書 per §1.2, or :class:`ProfileViolation`.

    Subject exactly C=JP + CN; no subjectAltName (no personal data); keyUsage critical digitalSignature only;
    certificatePolicies critical auth-class30 (or the test policy) with the CPS URI; issuer a JPKI auth CA DN.
    """
    _check_common(cert)
    is_test = _check_issuer(cert, CertKind.AUTHENTICATION)
    _check_key_usage(cert, frozenset({"digital_signature"}))
    policy, policy_is_test = _check_policy(cert, _AUTH_POLICIES)
    if policy_is_test is not is_test:
        raise ProfileViolation("policy.hierarchy", "the policy and the issuer disagree on test vs production")
    _check_subject_country(cert)
    subject_cn = _subject_cn(cert)
    extra = [a.oid.dotted_string for a in cert.subject if a.oid not in {NameOID.COUNTRY_NAME, NameOID.COMMON_NAME}]
    if extra:
        raise ProfileViolation("auth.personalData", f"the auth certificate subject carries more than C and CN: {extra}")
    if _has_extension(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME):
        raise ProfileViolation("auth.personalData", "the auth certificate carries a subjectAltName")
    return AuthCertificate(
        **_common_fields(cert, CertKind.AUTHENTICATION, policy, is_test),
        subject_cn=subject_cn,
    )


def parse_end_entity_certificate(cert: x509.Certificate) -> SignatureCertificate | AuthCertificate:
    """Parse either end-entity profile, choosing by the issuer DN."""
    if kind_of(cert) is CertKind.SIGNATURE:
        return parse_signature_certificate(cert)
    return parse_auth_certificate(cert)


def parse_ca_certificate(cert: x509.Certificate) -> JPKICACertificate:
    """A JPKI root per §1.1, or :class:`ProfileViolation`.

    Subject = issuer = a JPKI CA DN (byte-for-byte, string types included); self-signed; basicConstraints
    critical CA:TRUE without pathLen; keyUsage critical keyCertSign+cRLSign only.
    """
    _check_common(cert)
    identity = _ca_identity(cert.subject)
    if identity is None:
        raise ProfileViolation("ca.dn", f"subject {cert.subject.rfc4514_string()} is not a JPKI CA DN")
    if cert.issuer.public_bytes() != cert.subject.public_bytes():
        raise ProfileViolation("ca.selfIssued", "a JPKI root's issuer must equal its subject")
    kind, is_test = identity
    constraints = _extension(cert, x509.BasicConstraints, "basicConstraints", critical=True)
    if not constraints.ca or constraints.path_length is not None:
        raise ProfileViolation("ca.basicConstraints", "basicConstraints must be CA:TRUE without pathLen")
    _check_key_usage(cert, frozenset({"key_cert_sign", "crl_sign"}))
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature) as error:
        raise ProfileViolation("ca.selfSigned", f"the self-signature does not verify: {error}") from None
    return JPKICACertificate(**_common_fields(cert, kind, None, is_test))
