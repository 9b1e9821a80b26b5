"""``anchorid idp keys migrate --to pkcs11``: key files into a real SoftHSM2 token, under the same names and key ids,
checked there, the files left alone unless ``--remove-files``; the JWKS and tokens signed before stay valid."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from joserfc import jwt
from joserfc.jwk import KeySet
from pkcs11 import Attribute, ObjectClass
from pytest_django.fixtures import Settings

from anchorid.idp.keystore import EncryptedFileKeyStore, KeyUnreadable, key_id
from anchorid.idp.keystore_migration import MigrationError, migrate_to_token
from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore
from support.softhsm import MODULE, Token, softhsm_tokens, token_env  # noqa: F401 (fixture)

from .conftest import FAST_SCRYPT_N, PASSPHRASE


@pytest.fixture
def token(softhsm_tokens: Callable[[str], Token]) -> Token:  # noqa: F811
    return softhsm_tokens("migrate")


@pytest.fixture
def files(tmp_path: Path) -> EncryptedFileKeyStore:
    store = EncryptedFileKeyStore(tmp_path / "keys", PASSPHRASE, scrypt_n=FAST_SCRYPT_N)
    store.create_key("audit-checkpoints", "EC-P256")
    store.create_key("oidc-rs256-test", "RSA-2048")
    return store


def run_migrate(data: Path, token: Token, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANCHORID_KEYSTORE_PASSPHRASE": PASSPHRASE, **token_env(token)}
    env.pop("ANCHORID_KEYSTORE", None)
    command = [sys.executable, "-m", "anchorid.cli", "idp", "keys", "migrate", "--to", "pkcs11", "--data", str(data)]
    return subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=120)


def private_object(token: Token, name: str) -> pkcs11.types.PrivateKey:
    session = pkcs11.lib(MODULE).get_token(token_label=token.label).open()  # the process is logged in already
    [found] = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: name})
    assert isinstance(found, pkcs11.types.PrivateKey)
    return found


def test_it_moves_the_key_files_into_the_token_and_keeps_their_ids(
    files: EncryptedFileKeyStore, token: Token, tmp_path: Path
) -> None:
    before = {name: key_id(files.public_key(name)) for name in files.list()}
    done = run_migrate(tmp_path, token)
    assert done.returncode == 0, done.stderr
    assert "audit-checkpoints: imported" in done.stdout
    assert "checked RS256+PS256" in done.stdout
    assert "untouched" in done.stdout
    hsm = Pkcs11KeyStore(token.module, token.label, token.pin)
    assert {name: key_id(hsm.public_key(name)) for name in hsm.list()} == before
    ec_public = files.public_key("audit-checkpoints")
    assert isinstance(ec_public, ec.EllipticCurvePublicKey)
    ec_public.verify(hsm.sign("audit-checkpoints", b"m", "ES256"), b"m", ec.ECDSA(hashes.SHA256()))
    for name in before:
        private = private_object(token, name)
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is False  # honest: it was outside the token once
    assert sorted(p.name for p in (tmp_path / "keys").glob("*.key.json")) == [f"{n}.key.json" for n in sorted(before)]
    assert files.sign("audit-checkpoints", b"m", "ES256")  # the files still open: switching back is possible

    again = run_migrate(tmp_path, token)  # an interrupted or repeated run checks and moves nothing twice
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already in the token") == 2
    assert len(hsm.list()) == 2

    removed = run_migrate(tmp_path, token, "--remove-files")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.count("file removed") == 2
    assert list((tmp_path / "keys").glob("*.key.json")) == []
    rsa_public = hsm.public_key("oidc-rs256-test")
    assert isinstance(rsa_public, rsa.RSAPublicKey)
    rsa_public.verify(hsm.sign("oidc-rs256-test", b"m", "RS256"), b"m", padding.PKCS1v15(), hashes.SHA256())


def test_it_names_a_wrong_pin_and_moves_nothing(files: EncryptedFileKeyStore, token: Token, tmp_path: Path) -> None:
    done = run_migrate(tmp_path, Token(label=token.label, pin="wrong-pin-0000"))
    assert done.returncode == 2
    assert "refused the PIN: wrong ANCHORID_PKCS11_PIN" in done.stderr
    assert "wrong-pin-0000" not in done.stderr
    assert Pkcs11KeyStore(token.module, token.label, token.pin).list() == []


def test_it_stops_on_a_wrong_passphrase_before_touching_the_token(files: EncryptedFileKeyStore, token: Token) -> None:
    hsm = Pkcs11KeyStore(token.module, token.label, token.pin)
    with pytest.raises(KeyUnreadable, match="wrong passphrase"):
        migrate_to_token(EncryptedFileKeyStore(files.directory, "not the passphrase at all"), hsm)
    assert hsm.list() == []


def test_it_refuses_when_the_token_holds_another_key_of_that_name(files: EncryptedFileKeyStore, token: Token) -> None:
    hsm = Pkcs11KeyStore(token.module, token.label, token.pin)
    hsm.create_key("oidc-rs256-test", "RSA-2048")
    with pytest.raises(MigrationError, match="different key named 'oidc-rs256-test'"):
        migrate_to_token(files, hsm, remove_files=True)
    assert hsm.list() == ["oidc-rs256-test"]  # audit-checkpoints was not moved either
    assert files.list() == ["audit-checkpoints", "oidc-rs256-test"]


@pytest.mark.django_db
def test_it_keeps_the_jwks_and_the_tokens_signed_before_valid(
    platform_keys: Path, settings: Settings, token: Token
) -> None:
    from anchorid.idp.keystore import file_keystore_from_settings
    from anchorid.idp.oidc import jwks

    claims = {"iss": "http://testserver", "sub": "s", "aud": "client", "exp": 4102444800}
    jwks.invalidate_cache()
    signed_before = jwks.sign_token(claims, alg="ES256")
    jwks_before = jwks.jwks_document()
    migrate_to_token(file_keystore_from_settings(), Pkcs11KeyStore(token.module, token.label, token.pin))

    settings.ANCHORID_KEYSTORE = "pkcs11"
    settings.ANCHORID_PKCS11_MODULE = token.module
    settings.ANCHORID_PKCS11_TOKEN_LABEL = token.label
    settings.ANCHORID_PKCS11_PIN = token.pin
    jwks.invalidate_cache()
    assert jwks.jwks_document() == jwks_before
    signed_after = jwks.sign_token(claims, alg="ES256")
    assert jwt.decode(signed_after, KeySet.import_key_set(jwks_before), algorithms=["ES256"]).claims["sub"] == "s"
    assert jwks.verify_own_token(signed_before)[1]["sub"] == "s"

    settings.ANCHORID_KEYSTORE = "file"  # back: the files were left alone, the same keys sign
    jwks.invalidate_cache()
    assert jwks.jwks_document() == jwks_before
    assert jwt.decode(jwks.sign_token(claims), KeySet.import_key_set(jwks_before), algorithms=["ES256"])
    jwks.invalidate_cache()
