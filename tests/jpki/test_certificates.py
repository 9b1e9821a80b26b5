"""The profile parser accepts what the builders and J-LIS produce and names the rule a bad certificate breaks."""

from __future__ import annotations

import datetime
from importlib import resources

import pytest
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from anchorid.jpki import oids
from anchorid.jpki.attributes import Gender
from anchorid.jpki.certificates import (
    ProfileViolation,
    kind_of,
    parse_auth_certificate,
    parse_ca_certificate,
    parse_end_entity_certificate,
    parse_signature_certificate,
)
from anchorid.jpki.profiles import (
    CertKind,
    build_auth_certificate,
    build_ca_certificate,
    build_signature_certificate,
    utf8_other_name,
)


def rebuild(
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey,
    *,
    replace: tuple[x509.ExtensionType, ...] = (),
    critical: dict[x509.ObjectIdentifier, bool] | None = None,
    drop: tuple[x509.ObjectIdentifier, ...] = (),
    add: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    subject: x509.Name | None = None,
    public_key: rsa.RSAPublicKey | None = None,
    algorithm: hashes.HashAlgorithm | None = None,
) -> x509.Certificate:
    """The same certificate with some parts changed, re-signed by ``key``."""
    replacements = {extension.oid: extension for extension in replace}
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or certificate.subject)
        .issuer_name(certificate.issuer)
        .public_key(public_key or certificate.public_key())
        .serial_number(certificate.serial_number)
        .not_valid_before(certificate.not_valid_before_utc)
        .not_valid_after(certificate.not_valid_after_utc)
    )
    for extension in certificate.extensions:
        if extension.oid in drop:
            continue
        value = replacements.get(extension.oid, extension.value)
        builder = builder.add_extension(value, (critical or {}).get(extension.oid, extension.critical))
    for value, is_critical in add:
        builder = builder.add_extension(value, is_critical)
    return builder.sign(key, algorithm or hashes.SHA256())


def violation(parse, certificate: x509.Certificate) -> str:
    with pytest.raises(ProfileViolation) as caught:
        parse(certificate)
    assert caught.value.rule in str(caught.value)
    return caught.value.rule


def san_of(pki) -> list[x509.GeneralName]:
    return list(pki.signature_certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def with_san(pki, entries: list[x509.GeneralName]) -> x509.Certificate:
    return rebuild(pki.signature_certificate, pki.signature_ca_key, replace=(x509.SubjectAlternativeName(entries),))


def with_value(pki, oid: x509.ObjectIdentifier, value: str) -> x509.Certificate:
    return with_san(pki, [utf8_other_name(oid, value) if e.type_id == oid else e for e in san_of(pki)])


# --- accepting -----------------------------------------------------------------------------------------------


def test_it_reads_the_four_basic_attributes(pki) -> None:
    parsed = parse_signature_certificate(pki.signature_certificate)
    assert parsed.info == pki.info
    assert parsed.info.gender is Gender.MALE
    assert parsed.kind is CertKind.SIGNATURE
    assert parsed.policy == oids.POLICY_SIGN_CLASS20
    assert not parsed.is_test
    assert parsed.localities == ("Kanagawa-ken", "Kamakura-shi")
    assert parsed.serial == 1001


def test_it_reads_an_auth_certificate(pki) -> None:
    parsed = parse_auth_certificate(pki.auth_certificate)
    assert parsed.kind is CertKind.AUTHENTICATION
    assert parsed.policy == oids.POLICY_AUTH_CLASS30
    assert len(parsed.subject_cn) == 23


def test_it_dispatches_on_the_issuer(pki) -> None:
    assert parse_end_entity_certificate(pki.auth_certificate).kind is CertKind.AUTHENTICATION
    assert kind_of(pki.signature_certificate) is CertKind.SIGNATURE


@pytest.mark.parametrize(
    ("file", "kind"),
    [
        ("sign_ca_2015.pem", CertKind.SIGNATURE),
        ("sign_ca_2023.pem", CertKind.SIGNATURE),
        ("auth_ca_2015.pem", CertKind.AUTHENTICATION),
        ("auth_ca_2023.pem", CertKind.AUTHENTICATION),
    ],
)
def test_it_accepts_the_real_jpki_roots(file: str, kind: CertKind) -> None:
    root = x509.load_pem_x509_certificate(resources.files("anchorid.jpki.roots").joinpath(file).read_bytes())
    parsed = parse_ca_certificate(root)
    assert parsed.kind is kind
    assert not parsed.is_test
    assert parsed.policy is None


def test_it_accepts_the_simulated_roots(pki) -> None:
    assert parse_ca_certificate(pki.signature_ca).kind is CertKind.SIGNATURE
    assert parse_ca_certificate(pki.auth_ca).kind is CertKind.AUTHENTICATION


def test_it_accepts_an_octet_string_attribute_holding_utf8(pki) -> None:
    entries = [
        x509.OtherName(e.type_id, core.OctetString("鎌倉".encode()).dump()) if e.type_id == oids.SAN_COMMON_NAME else e
        for e in san_of(pki)
    ]
    entries = [
        x509.OtherName(e.type_id, core.UTF8String("00").dump()) if e.type_id == oids.SAN_NAME_SUBSTITUTES else e
        for e in entries
    ]
    assert parse_signature_certificate(with_san(pki, entries)).info.name == "鎌倉"


def test_it_reads_the_test_hierarchy(pki, pki_keys) -> None:
    now = datetime.datetime.now(datetime.UTC)
    later = now + datetime.timedelta(days=10)
    ca = build_ca_certificate(CertKind.SIGNATURE, pki_keys[0], serial=3, not_before=now, not_after=later, test=True)
    certificate = build_signature_certificate(
        ca_certificate=ca,
        ca_key=pki_keys[0],
        public_key=pki.resident_key.public_key(),
        info=pki.info,
        serial=4,
        not_before=now,
        not_after=later,
        locality="Kiyose-shi",
        test=True,
    )
    assert parse_ca_certificate(ca).is_test
    parsed = parse_signature_certificate(certificate)
    assert parsed.is_test
    assert parsed.policy == oids.POLICY_TEST_SIGN
    mixed = rebuild(
        certificate,
        pki_keys[0],
        replace=(x509.CertificatePolicies([x509.PolicyInformation(oids.POLICY_SIGN_CLASS20, [oids.JPKI_CPS_URI])]),),
    )
    assert violation(parse_signature_certificate, mixed) == "policy.hierarchy"


# --- the six otherNames --------------------------------------------------------------------------------------


def test_it_rejects_five_other_names(pki) -> None:
    assert violation(parse_signature_certificate, with_san(pki, san_of(pki)[:5])) == "san.otherName.count"


def test_it_rejects_an_unknown_other_name(pki) -> None:
    entries = san_of(pki)
    entries[-1] = utf8_other_name(x509.ObjectIdentifier("1.2.392.200149.8.5.5.7"), "x")
    assert violation(parse_signature_certificate, with_san(pki, entries)) == "san.otherName.oid"


def test_it_rejects_a_duplicated_other_name(pki) -> None:
    entries = san_of(pki)
    entries[-1] = entries[0]
    assert violation(parse_signature_certificate, with_san(pki, entries)) == "san.otherName.oid"


def test_it_rejects_other_general_names_in_the_san(pki) -> None:
    entries = [*san_of(pki), x509.RFC822Name("taro@example.jp")]
    assert violation(parse_signature_certificate, with_san(pki, entries)) == "san.generalName"


def test_it_rejects_a_printable_string_attribute(pki) -> None:
    entries = [
        x509.OtherName(e.type_id, core.PrintableString("1").dump()) if e.type_id == oids.SAN_GENDER else e
        for e in san_of(pki)
    ]
    assert violation(parse_signature_certificate, with_san(pki, entries)) == "san.otherName.encoding"


def test_it_rejects_an_octet_string_that_is_not_utf8(pki) -> None:
    entries = [
        x509.OtherName(e.type_id, core.OctetString(b"\xff\xfe").dump()) if e.type_id == oids.SAN_ADDRESS else e
        for e in san_of(pki)
    ]
    assert violation(parse_signature_certificate, with_san(pki, entries)) == "san.otherName.encoding"


def test_it_rejects_a_birth_date_in_the_wrong_era(pki) -> None:
    assert violation(parse_signature_certificate, with_value(pki, oids.SAN_DATE_OF_BIRTH, "519880229")) == (
        "san.dateOfBirth"
    )


def test_it_rejects_an_impossible_birth_date(pki) -> None:
    assert violation(parse_signature_certificate, with_value(pki, oids.SAN_DATE_OF_BIRTH, "319870229")) == (
        "san.dateOfBirth"
    )


def test_it_rejects_an_unknown_gender_code(pki) -> None:
    assert violation(parse_signature_certificate, with_value(pki, oids.SAN_GENDER, "4")) == "san.gender"


def test_it_rejects_a_name_substitute_map_of_the_wrong_length(pki) -> None:
    assert violation(parse_signature_certificate, with_value(pki, oids.SAN_NAME_SUBSTITUTES, "0000")) == (
        "san.nameSubstitutes"
    )


def test_it_rejects_an_address_substitute_map_with_other_digits(pki) -> None:
    assert violation(parse_signature_certificate, with_value(pki, oids.SAN_ADDRESS_SUBSTITUTES, "2" * 16)) == (
        "san.addressSubstitutes"
    )


def test_it_rejects_a_signature_certificate_without_san(pki) -> None:
    stripped = rebuild(
        pki.signature_certificate, pki.signature_ca_key, drop=(x509.ExtensionOID.SUBJECT_ALTERNATIVE_NAME,)
    )
    assert violation(parse_signature_certificate, stripped) == "san.missing"


# --- key usage, policy, key, algorithm -----------------------------------------------------------------------


def _usage(*, non_repudiation: bool) -> x509.KeyUsage:
    return x509.KeyUsage(True, non_repudiation, False, False, False, False, False, False, False)


def test_it_requires_non_repudiation_on_the_signature_certificate(pki) -> None:
    changed = rebuild(pki.signature_certificate, pki.signature_ca_key, replace=(_usage(non_repudiation=False),))
    assert violation(parse_signature_certificate, changed) == "keyUsage.nonRepudiation"


def test_it_forbids_non_repudiation_on_the_auth_certificate(pki) -> None:
    changed = rebuild(pki.auth_certificate, pki.auth_ca_key, replace=(_usage(non_repudiation=True),))
    assert violation(parse_auth_certificate, changed) == "keyUsage.nonRepudiation"


def test_it_requires_key_usage_to_be_critical(pki) -> None:
    changed = rebuild(pki.signature_certificate, pki.signature_ca_key, critical={x509.ExtensionOID.KEY_USAGE: False})
    assert violation(parse_signature_certificate, changed) == "keyUsage.critical"


def test_it_requires_a_policy(pki) -> None:
    changed = rebuild(pki.signature_certificate, pki.signature_ca_key, drop=(x509.ExtensionOID.CERTIFICATE_POLICIES,))
    assert violation(parse_signature_certificate, changed) == "policy.missing"


def test_it_rejects_the_auth_policy_on_a_signature_certificate(pki) -> None:
    policy = x509.CertificatePolicies([x509.PolicyInformation(oids.POLICY_AUTH_CLASS30, [oids.JPKI_CPS_URI])])
    changed = rebuild(pki.signature_certificate, pki.signature_ca_key, replace=(policy,))
    assert violation(parse_signature_certificate, changed) == "policy.oid"


def test_it_requires_the_cps_qualifier(pki) -> None:
    policy = x509.CertificatePolicies([x509.PolicyInformation(oids.POLICY_SIGN_CLASS20, None)])
    changed = rebuild(pki.signature_certificate, pki.signature_ca_key, replace=(policy,))
    assert violation(parse_signature_certificate, changed) == "policy.cps"


def test_it_rejects_a_short_rsa_key(pki) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point of the test
    changed = rebuild(pki.signature_certificate, pki.signature_ca_key, public_key=small.public_key())
    assert violation(parse_signature_certificate, changed) == "key.size"


def test_it_rejects_another_signature_algorithm(pki) -> None:
    changed = rebuild(pki.signature_certificate, pki.signature_ca_key, algorithm=hashes.SHA384())
    assert violation(parse_signature_certificate, changed) == "algorithm.signature"


def test_it_rejects_an_unknown_critical_extension(pki) -> None:
    changed = rebuild(pki.auth_certificate, pki.auth_ca_key, add=((x509.OCSPNoCheck(), True),))
    assert violation(parse_auth_certificate, changed) == "extension.critical"


# --- auth certificate, hierarchy, CA -------------------------------------------------------------------------


def test_it_rejects_personal_data_in_the_auth_subject(pki) -> None:
    subject = x509.Name([*pki.auth_certificate.subject, x509.NameAttribute(NameOID.LOCALITY_NAME, "Kamakura-shi")])
    changed = rebuild(pki.auth_certificate, pki.auth_ca_key, subject=subject)
    assert violation(parse_auth_certificate, changed) == "auth.personalData"


def test_it_rejects_a_san_on_the_auth_certificate(pki) -> None:
    san = pki.signature_certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    changed = rebuild(pki.auth_certificate, pki.auth_ca_key, add=((san, False),))
    assert violation(parse_auth_certificate, changed) == "auth.personalData"


def test_it_rejects_a_signature_certificate_parsed_as_auth(pki) -> None:
    assert violation(parse_auth_certificate, pki.signature_certificate) == "issuer.hierarchy"


def test_it_rejects_a_ca_certificate_as_an_end_entity(pki) -> None:
    assert violation(parse_signature_certificate, pki.signature_ca) == "keyUsage.digitalSignature"


def test_it_rejects_a_foreign_issuer(pki) -> None:
    stranger = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"), x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    builder = x509.CertificateBuilder().issuer_name(stranger).subject_name(pki.auth_certificate.subject)
    builder = builder.public_key(pki.resident_key.public_key()).serial_number(1)
    builder = builder.not_valid_before(pki.issued_at).not_valid_after(pki.issued_at + datetime.timedelta(days=1))
    certificate = builder.sign(pki.auth_ca_key, hashes.SHA256())
    assert violation(parse_auth_certificate, certificate) == "issuer.dn"


def test_it_rejects_a_ca_with_another_dn_shape(pki) -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI", _type=x509.name._ASN1Type.PrintableString),
            *list(pki.signature_ca.subject)[2:],
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pki.signature_ca_key.public_key())
        .serial_number(1)
        .not_valid_before(pki.issued_at)
        .not_valid_after(pki.issued_at + datetime.timedelta(days=1))
    )
    for extension in pki.signature_ca.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    assert violation(parse_ca_certificate, builder.sign(pki.signature_ca_key, hashes.SHA256())) == "ca.dn"


def test_it_rejects_a_ca_with_a_path_length(pki) -> None:
    changed = rebuild(pki.signature_ca, pki.signature_ca_key, replace=(x509.BasicConstraints(ca=True, path_length=0),))
    assert violation(parse_ca_certificate, changed) == "ca.basicConstraints"


def test_it_rejects_a_ca_signed_by_another_key(pki) -> None:
    changed = rebuild(pki.signature_ca, pki.auth_ca_key)
    assert violation(parse_ca_certificate, changed) == "ca.selfSigned"


def test_it_builds_an_auth_certificate_the_parser_accepts_for_the_test_ca(pki, pki_keys) -> None:
    now = datetime.datetime.now(datetime.UTC)
    later = now + datetime.timedelta(days=10)
    ca = build_ca_certificate(
        CertKind.AUTHENTICATION, pki_keys[1], serial=3, not_before=now, not_after=later, test=True
    )
    certificate = build_auth_certificate(
        ca_certificate=ca,
        ca_key=pki_keys[1],
        public_key=pki.resident_key.public_key(),
        subject_cn="997794E9AGCIEG13221003A",
        serial=4,
        not_before=now,
        not_after=later,
        test=True,
    )
    parsed = parse_auth_certificate(certificate)
    assert parsed.is_test
    assert parsed.subject_cn == "997794E9AGCIEG13221003A"
