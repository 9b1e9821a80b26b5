"""The builders produce what jpki-reference.md §1 describes, and match the real 2023 roots' shape."""

from __future__ import annotations

import datetime
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from anchorid.jpki import oids
from anchorid.jpki.profiles import (
    OPAQUE_CN_ALPHABET,
    OPAQUE_CN_LENGTH,
    CertKind,
    build_ca_certificate,
    build_signature_certificate,
    certificate_not_after,
    jpki_ca_name,
    new_opaque_cn,
)

UTC = datetime.UTC


def real_root(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(resources.files("anchorid.jpki.roots").joinpath(name).read_bytes())


def ext_shape(certificate: x509.Certificate) -> list[tuple[str, bool]]:
    return [(extension.oid.dotted_string, extension.critical) for extension in certificate.extensions]


@pytest.mark.parametrize(
    ("kind", "file"), [(CertKind.SIGNATURE, "sign_ca_2023.pem"), (CertKind.AUTHENTICATION, "auth_ca_2023.pem")]
)
def test_it_encodes_the_ca_name_byte_for_byte_like_the_real_root(kind: CertKind, file: str) -> None:
    assert jpki_ca_name(kind).public_bytes() == real_root(file).subject.public_bytes()


def test_it_names_the_test_hierarchy_jpki_test() -> None:
    name = jpki_ca_name(CertKind.SIGNATURE, test=True)
    assert name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "JPKI-TEST"


def test_it_builds_the_signature_root_with_the_real_roots_extensions(pki) -> None:
    real = real_root("sign_ca_2023.pem")
    assert ext_shape(pki.signature_ca) == ext_shape(real)
    for ours, theirs in zip(pki.signature_ca.extensions, real.extensions, strict=True):
        if ours.oid != ExtensionOID.SUBJECT_KEY_IDENTIFIER:
            assert ours.value.public_bytes() == theirs.value.public_bytes(), ours.oid


def test_it_builds_the_auth_root_with_the_real_roots_extensions(pki) -> None:
    real = real_root("auth_ca_2023.pem")
    assert ext_shape(pki.auth_ca) == ext_shape(real)
    assert pki.auth_ca.subject.public_bytes() == real.subject.public_bytes()
    assert pki.auth_ca.extensions.get_extension_for_class(x509.SubjectAlternativeName).value == (
        real.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    )


def test_it_puts_the_six_other_names_in_the_real_order_as_utf8(pki) -> None:
    san = pki.signature_certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [entry.type_id for entry in san] == list(oids.SAN_OTHERNAME_ORDER)
    assert all(entry.value[0] == 0x0C for entry in san)  # UTF8String tag inside [0] EXPLICIT


def test_it_marks_the_signature_key_usage_and_policy_critical(pki) -> None:
    certificate = pki.signature_certificate
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    assert policies.critical
    assert policies.value[0].policy_identifier == oids.POLICY_SIGN_CLASS20
    assert policies.value[0].policy_qualifiers == [oids.JPKI_CPS_URI]


def test_it_keeps_personal_data_out_of_the_auth_certificate(pki) -> None:
    certificate = pki.auth_certificate
    assert [a.oid for a in certificate.subject] == [NameOID.COUNTRY_NAME, NameOID.COMMON_NAME]
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert not certificate.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment


def test_it_marks_the_responder_for_ocsp_signing_without_revocation_checks(pki) -> None:
    responder = pki.signature_responder
    assert responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.OCSP_SIGNING]
    )
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert responder.issuer == pki.signature_ca.subject


def test_it_refuses_to_issue_a_signature_certificate_from_the_auth_ca(pki) -> None:
    with pytest.raises(ValueError, match="signature CA"):
        build_signature_certificate(
            ca_certificate=pki.auth_ca,
            ca_key=pki.auth_ca_key,
            public_key=pki.resident_key.public_key(),
            info=pki.info,
            serial=5,
            not_before=pki.issued_at,
            not_after=pki.issued_at + datetime.timedelta(days=1),
            locality="Kamakura-shi",
        )


def test_it_refuses_a_test_certificate_from_the_production_ca(pki) -> None:
    with pytest.raises(ValueError, match="test"):
        build_signature_certificate(
            ca_certificate=pki.signature_ca,
            ca_key=pki.signature_ca_key,
            public_key=pki.resident_key.public_key(),
            info=pki.info,
            serial=5,
            not_before=pki.issued_at,
            not_after=pki.issued_at + datetime.timedelta(days=1),
            locality="Kamakura-shi",
            test=True,
        )


def test_it_ends_validity_on_the_fifth_birthday_at_jst_midnight() -> None:
    # The J-LIS test auth certificate: issued 2025-10-27, valid to 2030-02-17 (a 17 February birthday).
    assert certificate_not_after(datetime.date(1980, 2, 17), datetime.date(2025, 10, 27)) == datetime.datetime(
        2030, 2, 17, 14, 59, 59, tzinfo=UTC
    )


def test_it_does_not_count_a_birthday_on_the_issuance_day() -> None:
    assert certificate_not_after(datetime.date(1990, 5, 1), datetime.date(2025, 5, 1)).date() == datetime.date(
        2030, 5, 1
    )


def test_it_moves_a_leap_day_birthday_to_february_28_in_common_years() -> None:
    assert certificate_not_after(datetime.date(1988, 2, 29), datetime.date(2025, 3, 1)).date() == datetime.date(
        2030, 2, 28
    )
    assert certificate_not_after(datetime.date(1988, 2, 29), datetime.date(2023, 3, 1)).date() == datetime.date(
        2028, 2, 29
    )


def test_it_never_outlives_the_card() -> None:
    not_after = certificate_not_after(datetime.date(1990, 5, 1), datetime.date(2025, 6, 1), datetime.date(2027, 1, 9))
    assert not_after == datetime.datetime(2027, 1, 9, 14, 59, 59, tzinfo=UTC)


def test_it_rejects_a_birth_date_after_issuance() -> None:
    with pytest.raises(ValueError, match="birth date"):
        certificate_not_after(datetime.date(2030, 1, 1), datetime.date(2025, 1, 1))


def test_it_makes_opaque_cns_like_the_test_card() -> None:
    cns = {new_opaque_cn() for _ in range(50)}
    assert len(cns) == 50
    assert all(len(cn) == OPAQUE_CN_LENGTH and set(cn) <= set(OPAQUE_CN_ALPHABET) for cn in cns)


def test_it_builds_a_test_hierarchy_root(pki_keys) -> None:
    now = datetime.datetime.now(UTC)
    root = build_ca_certificate(
        CertKind.AUTHENTICATION,
        pki_keys[0],
        serial=7,
        not_before=now,
        not_after=now + datetime.timedelta(days=1),
        test=True,
    )
    assert root.subject == jpki_ca_name(CertKind.AUTHENTICATION, test=True) == root.issuer


def _pem(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_it_produces_certificates_openssl_reads_and_verifies(pki, tmp_path: Path) -> None:
    signature_ca = _pem(tmp_path / "sign-ca.pem", pki.signature_ca)
    auth_ca = _pem(tmp_path / "auth-ca.pem", pki.auth_ca)
    signature = _pem(tmp_path / "sign.pem", pki.signature_certificate)
    auth = _pem(tmp_path / "auth.pem", pki.auth_certificate)
    text = subprocess.run(
        ["openssl", "x509", "-in", str(signature), "-noout", "-text", "-nameopt", "utf8"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Digital Signature, Non Repudiation" in text
    assert "1.2.392.200149.8.5.5.1::髙橋\u3000一郎" in text
    assert "CPS: http://www.jpki.go.jp/cps.html" in text
    # Real-root shape, as openssl prints it, for our root and J-LIS's.
    ours = subprocess.run(
        ["openssl", "x509", "-in", str(signature_ca), "-noout", "-text"], check=True, capture_output=True, text=True
    ).stdout
    for line in ("Certificate Sign, CRL Sign", "CA:TRUE", "DirName:C = JP, O = JPKI, OU = JPKI for digital signature"):
        assert line in ours
    for certificate, ca in ((signature, signature_ca), (auth, auth_ca)):
        subprocess.run(["openssl", "verify", "-CAfile", str(ca), str(certificate)], check=True, capture_output=True)
    crossed = subprocess.run(["openssl", "verify", "-CAfile", str(auth_ca), str(signature)], capture_output=True)
    assert crossed.returncode != 0
