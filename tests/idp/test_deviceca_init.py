"""The platform CA: ``anchorid idp ca init``, the certificate profiles, the chain under openssl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Level
from anchorid.idp.deviceca import profile
from anchorid.idp.deviceca.authority import CaError, init_ca
from anchorid.idp.deviceca.issuance import issue_device_certificate, load_csr
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate, PlatformCertificate

pytestmark = pytest.mark.django_db

IDP_TEST_ORIGIN = "http://testserver"


def new_csr(key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wallet")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER)


def issue(account: Account) -> DeviceCertificate:
    return issue_device_certificate(account, load_csr(new_csr()), acr=Level.DERIVED.acr, enrolled_with="session")


def write_pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def test_it_creates_root_issuing_ca_and_responder_with_keys_in_the_keystore(device_ca: Any) -> None:
    rows = {row.role: row for row in PlatformCertificate.objects.filter(current=True)}
    assert set(rows) == {"root", "issuing", "ocsp"}
    store = ca_keystore()
    for row in rows.values():
        assert store.has_key(row.key_name)
        public_key = store.public_key(row.key_name)
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        assert public_key.curve.name == "secp256r1"
    assert device_ca.issuing.issuer == device_ca.root.subject
    assert device_ca.responder.issuer == device_ca.issuing.subject


def test_it_refuses_a_second_init(device_ca: Any) -> None:
    with pytest.raises(CaError, match="already exists"):
        init_ca(ca_keystore(), IDP_TEST_ORIGIN)


def test_it_refuses_a_bad_url(platform_keys: Path) -> None:
    with pytest.raises(CaError, match="http"):
        init_ca(ca_keystore(), "ftp://example.org")
    assert not PlatformCertificate.objects.exists()


def test_it_gives_the_responder_ocsp_signing_and_nocheck(device_ca: Any) -> None:
    responder = device_ca.responder
    eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)


def test_it_issues_device_certificates_without_personal_data(device_ca: Any) -> None:
    account = Account.objects.create_user("resident-1")
    record = issue(account)
    certificate = x509.load_der_x509_certificate(bytes(record.der))
    subject = {attribute.oid: attribute.value for attribute in certificate.subject}
    assert subject == {NameOID.ORGANIZATION_NAME: "AnchorID", NameOID.COMMON_NAME: record.subject_id}
    assert record.subject_id.startswith("dc_")
    assert str(account.pk) not in certificate.public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert certificate.serial_number.bit_length() <= 159
    assert (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days <= 366


def test_it_puts_the_policy_and_the_acr_inside(device_ca: Any) -> None:
    certificate = x509.load_der_x509_certificate(bytes(issue(Account.objects.create_user("r")).der))
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [profile.DEVICE_CERTIFICATE_POLICY]
    assert profile.acr_of(certificate) == Level.DERIVED.acr
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {d.access_location.value for d in aia} == {
        f"{IDP_TEST_ORIGIN}/pki/ocsp",
        f"{IDP_TEST_ORIGIN}/pki/issuing.cer",
    }
    crldp = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crldp[0].full_name is not None
    assert crldp[0].full_name[0].value == f"{IDP_TEST_ORIGIN}/pki/issuing.crl"


def test_it_openssl_verifies_a_device_certificate_against_the_platform_chain(device_ca: Any, tmp_path: Path) -> None:
    certificate = x509.load_der_x509_certificate(bytes(issue(Account.objects.create_user("r")).der))
    root = write_pem(tmp_path / "root.pem", device_ca.root)
    issuing = write_pem(tmp_path / "issuing.pem", device_ca.issuing)
    leaf = write_pem(tmp_path / "leaf.pem", certificate)
    result = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", root, "-untrusted", issuing, leaf],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"{leaf}: OK" in result.stdout


def test_it_openssl_refuses_a_device_certificate_without_the_platform_root(device_ca: Any, tmp_path: Path) -> None:
    certificate = x509.load_der_x509_certificate(bytes(issue(Account.objects.create_user("r")).der))
    issuing = write_pem(tmp_path / "issuing.pem", device_ca.issuing)
    leaf = write_pem(tmp_path / "leaf.pem", certificate)
    result = subprocess.run(["openssl", "verify", "-CAfile", issuing, leaf], capture_output=True, text=True)
    assert result.returncode != 0


def test_it_the_cli_creates_the_ca(tmp_path: Path, passphrase: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["ANCHORID_KEYSTORE_PASSPHRASE"] = passphrase
    command = [sys.executable, "-m", "anchorid.cli", "idp", "ca"]
    data = str(tmp_path / "idp")
    result = subprocess.run(
        [*command, "init", "--data", data, "--url", "http://127.0.0.1:9"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "root: CN=AnchorID Root CA 1,O=AnchorID" in result.stdout
    again = subprocess.run([*command, "init", "--data", data], env=env, capture_output=True, text=True)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    shown = subprocess.run([*command, "show", "--data", data], env=env, capture_output=True, text=True)
    assert shown.stdout.count("BEGIN CERTIFICATE") == 3
    crl = subprocess.run([*command, "root-crl", "--data", data], env=env, capture_output=True, text=True)
    assert crl.returncode == 0, crl.stderr
