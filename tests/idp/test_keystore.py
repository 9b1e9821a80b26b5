"""The encrypted-file KeyStore: keys are made, used and kept inside; nothing hands out a private key."""

from __future__ import annotations

import datetime
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from anchorid.idp.keystore import (
    EncryptedFileKeyStore,
    KeyExists,
    KeyNotExportable,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    KeyStoreNotConfigured,
    KeyUnreadable,
    StoredEcKeySigner,
)


def test_it_signs_es256_verifiably(keystore: EncryptedFileKeyStore) -> None:
    public_key = keystore.create_key("platform", "EC-P256")
    signature = keystore.sign("platform", b"hello", "ES256")
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, b"hello", ec.ECDSA(hashes.SHA256()))


def test_it_signs_rs256_and_ps256_verifiably(keystore: EncryptedFileKeyStore) -> None:
    public_key = keystore.create_key("legacy", "RSA-2048")
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(keystore.sign("legacy", b"m", "RS256"), b"m", padding.PKCS1v15(), hashes.SHA256())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    public_key.verify(keystore.sign("legacy", b"m", "PS256"), b"m", pss, hashes.SHA256())


def test_it_refuses_an_algorithm_the_key_cannot_do(keystore: EncryptedFileKeyStore) -> None:
    keystore.create_key("platform", "EC-P256")
    with pytest.raises(KeyStoreError, match="RS256 needs an RSA key"):
        keystore.sign("platform", b"m", "RS256")


def test_it_writes_one_0600_file_per_key_with_no_plaintext_key(keystore: EncryptedFileKeyStore) -> None:
    keystore.create_key("platform", "EC-P256")
    path = keystore.directory / "platform.key.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in path.read_bytes()
    assert keystore.list() == ["platform"]


def test_it_opens_keys_again_from_a_fresh_store(keystore: EncryptedFileKeyStore, passphrase: str) -> None:
    public_key = keystore.create_key("platform", "EC-P256")
    reopened = EncryptedFileKeyStore(keystore.directory, passphrase)
    assert reopened.has_key("platform")
    assert reopened.public_key("platform") == public_key
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(reopened.sign("platform", b"m", "ES256"), b"m", ec.ECDSA(hashes.SHA256()))


def test_it_uses_a_real_scrypt_cost_by_default(tmp_path: Path, passphrase: str) -> None:
    EncryptedFileKeyStore(tmp_path, passphrase).create_key("k", "EC-P256")
    assert json.loads((tmp_path / "k.key.json").read_text())["kdf"]["n"] == 2**15


def test_it_refuses_a_wrong_passphrase(keystore: EncryptedFileKeyStore) -> None:
    keystore.create_key("platform", "EC-P256")
    with pytest.raises(KeyUnreadable, match="wrong passphrase"):
        EncryptedFileKeyStore(keystore.directory, "not the passphrase").sign("platform", b"m", "ES256")


def test_it_refuses_a_file_whose_public_key_was_swapped(keystore: EncryptedFileKeyStore, passphrase: str) -> None:
    keystore.create_key("platform", "EC-P256")
    keystore.create_key("other", "EC-P256")
    path = keystore.directory / "platform.key.json"
    document = json.loads(path.read_text())
    document["public_key"] = json.loads((keystore.directory / "other.key.json").read_text())["public_key"]
    path.write_text(json.dumps(document))
    with pytest.raises(KeyUnreadable):
        EncryptedFileKeyStore(keystore.directory, passphrase).public_key("platform")


def test_it_refuses_a_short_passphrase(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreNotConfigured):
        EncryptedFileKeyStore(tmp_path, "short")


def test_it_never_overwrites_a_key(keystore: EncryptedFileKeyStore) -> None:
    keystore.create_key("platform", "EC-P256")
    with pytest.raises(KeyExists):
        keystore.create_key("platform", "EC-P256")


def test_it_says_which_key_is_missing(keystore: EncryptedFileKeyStore) -> None:
    assert not keystore.has_key("nope")
    with pytest.raises(KeyNotFound, match="'nope'"):
        keystore.sign("nope", b"m", "ES256")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "UPPER", ".hidden"])
def test_it_refuses_key_names_that_are_not_plain_file_names(keystore: EncryptedFileKeyStore, name: str) -> None:
    with pytest.raises(KeyStoreError, match="invalid key name"):
        keystore.create_key(name, "EC-P256")


def test_it_exposes_no_method_returning_a_private_key(keystore: EncryptedFileKeyStore) -> None:
    keystore.create_key("platform", "EC-P256")
    public_surface = [getattr(keystore, n) for n in dir(keystore) if not n.startswith("_")]
    for attribute in public_surface:
        assert not isinstance(attribute, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)


def test_it_satisfies_the_keystore_protocol(keystore: EncryptedFileKeyStore) -> None:
    store: KeyStore = keystore
    assert store.list() == []


def test_it_builds_a_certificate_through_a_signer_that_keeps_the_key_inside(keystore: EncryptedFileKeyStore) -> None:
    public_key = keystore.create_key("ca", "EC-P256")
    signer = keystore.signer("ca")
    assert isinstance(signer, StoredEcKeySigner)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AnchorID test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(signer, hashes.SHA256())
    )
    certificate.verify_directly_issued_by(certificate)
    with pytest.raises(KeyNotExportable):
        signer.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    with pytest.raises(KeyNotExportable):
        signer.private_numbers()


def test_it_builds_a_certificate_with_a_stored_rsa_key(
    tmp_path: Path, open_keystore: Callable[[Path], EncryptedFileKeyStore]
) -> None:
    store = open_keystore(tmp_path)
    public_key = store.create_key("rsa-ca", "RSA-2048")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AnchorID RSA test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(store.signer("rsa-ca"), hashes.SHA256())
    )
    certificate.verify_directly_issued_by(certificate)
