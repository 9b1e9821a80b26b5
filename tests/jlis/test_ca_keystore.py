"""jlis's CA and OCSP keys at rest: the platform's key store (scrypt), under ANCHORID_JLIS_CA_PASSPHRASE and nothing
else; keys of earlier versions move into it with ``anchorid jlis upgrade-keys``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.test import override_settings

from anchorid.jlis import keystore
from anchorid.jlis.cli import _upgrade_keys
from anchorid.jlis.models import CertificateAuthority, CertificateKind

pytestmark = pytest.mark.django_db


def test_it_refuses_to_make_or_open_ca_keys_without_a_passphrase(counter: Any) -> None:
    """No fallback derived from SECRET_KEY (which sits in the same data folder): no passphrase, no keys."""
    row = CertificateAuthority.objects.get(kind=CertificateKind.SIGNATURE)
    with override_settings(JLIS_CA_PASSPHRASE=""):
        with pytest.raises(keystore.KeyStoreError, match="ANCHORID_JLIS_CA_PASSPHRASE is not set"):
            keystore.create_key("sign-ca")
        with pytest.raises(keystore.KeyStoreError, match="ANCHORID_JLIS_CA_PASSPHRASE"):
            keystore.load_private_key(row.key_file)
    with override_settings(JLIS_CA_PASSPHRASE="short"), pytest.raises(keystore.KeyStoreError, match="shorter than 12"):
        keystore.create_key("sign-ca")


def test_it_does_not_open_ca_keys_with_another_passphrase(counter: Any) -> None:
    row = CertificateAuthority.objects.get(kind=CertificateKind.SIGNATURE)
    with override_settings(JLIS_CA_PASSPHRASE="a different passphrase"):
        with pytest.raises(keystore.KeyStoreError, match="wrong ANCHORID_JLIS_CA_PASSPHRASE"):
            keystore.load_private_key(row.key_file)
        assert "does not open" in (keystore.check_keys_open() or "")
    assert keystore.check_keys_open() is None


def test_it_signs_through_the_store_with_the_key_of_the_ca_certificate(counter: Any) -> None:
    from anchorid.jlis.authority import load_authority

    authority = load_authority(CertificateKind.SIGNATURE)
    signature = authority.key.sign(b"tbs", padding.PKCS1v15(), hashes.SHA256())
    public_key = authority.certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, b"tbs", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(Exception, match="never leave"):
        authority.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _legacy_pem(directory: Path, name: str, passphrase: bytes) -> tuple[str, rsa.RSAPublicKey]:
    """A key file as earlier versions wrote it: PKCS#8 PEM with cryptography's best available encryption."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(passphrase)
    )
    (directory / name).write_bytes(pem)
    return name, key.public_key()


@pytest.mark.parametrize("from_secret_key", [True, False])
def test_it_moves_keys_of_an_earlier_version_into_the_store(counter: Any, from_secret_key: bool) -> None:
    directory = Path(settings.JLIS_KEY_DIR)
    old = keystore.legacy_secret_key_passphrase() if from_secret_key else settings.JLIS_CA_PASSPHRASE.encode()
    suffix = "a" if from_secret_key else "b"
    ca_file, ca_public = _legacy_pem(directory, f"sign-ca-legacy{suffix}.pem", old)
    ocsp_file, ocsp_public = _legacy_pem(directory, f"sign-ocsp-legacy{suffix}.pem", old)
    CertificateAuthority.objects.filter(kind=CertificateKind.SIGNATURE).update(
        key_file=ca_file, responder_key_file=ocsp_file
    )
    with pytest.raises(keystore.KeyStoreError, match="upgrade-keys"):
        keystore.load_private_key(ca_file)
    assert "upgrade-keys" in (keystore.check_keys_open() or "")  # the startup check names the command too

    result = _upgrade_keys(argparse.Namespace(from_secret_key=from_secret_key))

    row = CertificateAuthority.objects.get(kind=CertificateKind.SIGNATURE)
    assert result == {"upgraded": [row.key_file, row.responder_key_file]}
    assert row.key_file == f"sign-ca-legacy{suffix}.key.json"
    assert not (directory / ca_file).exists()
    assert not (directory / ocsp_file).exists()
    for file_name, public in ((row.key_file, ca_public), (row.responder_key_file, ocsp_public)):
        signer = keystore.load_private_key(file_name)
        public.verify(signer.sign(b"m", padding.PKCS1v15(), hashes.SHA256()), b"m", padding.PKCS1v15(), hashes.SHA256())
    assert keystore.check_keys_open() is None


def test_it_does_not_upgrade_with_the_wrong_old_passphrase(counter: Any) -> None:
    directory = Path(settings.JLIS_KEY_DIR)
    ca_file, _ = _legacy_pem(directory, "sign-ca-legacyc.pem", keystore.legacy_secret_key_passphrase())
    CertificateAuthority.objects.filter(kind=CertificateKind.SIGNATURE).update(key_file=ca_file)
    with pytest.raises(keystore.KeyStoreError, match="does not open with the old passphrase"):
        _upgrade_keys(argparse.Namespace(from_secret_key=False))
    assert CertificateAuthority.objects.get(kind=CertificateKind.SIGNATURE).key_file == ca_file
    assert (directory / ca_file).exists()
