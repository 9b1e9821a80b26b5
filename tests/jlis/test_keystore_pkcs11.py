"""jlis's CA and OCSP keys in a PKCS#11 token (a real SoftHSM2 token): ``anchorid jlis keys migrate --to pkcs11``
moves the CA key files there without touching the database rows, then cards are issued and CRLs signed by the
token's keys and openssl verifies them; new CAs are generated inside the token; a wrong PIN is named."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, ObjectClass
from pytest_django.fixtures import Settings

from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore
from anchorid.jlis import authority, keystore
from anchorid.jlis.cli import _migrate_keys
from anchorid.jlis.models import CertificateAuthority, CertificateKind
from support.softhsm import MODULE, Token, softhsm_tokens  # noqa: F401 (fixture)

from .conftest import new_resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(softhsm_tokens: Callable[[str], Token], settings: Settings) -> Iterator[Token]:  # noqa: F811
    """J-LIS's own token, named in the settings (the key store stays ``file`` until a test switches it)."""
    made = softhsm_tokens("jlis")
    settings.JLIS_PKCS11_MODULE = made.module
    settings.JLIS_PKCS11_TOKEN_LABEL = made.label
    settings.JLIS_PKCS11_PIN = made.pin
    authority.clear_cache()
    yield made
    authority.clear_cache()  # the loaded CAs hold signers of this store: the next test loads its own


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True)


def pem(path: Path, der: bytes) -> Path:
    from cryptography import x509

    path.write_bytes(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
    return path


def _key_files() -> list[tuple[str, str]]:
    return list(CertificateAuthority.objects.order_by("pk").values_list("key_file", "responder_key_file"))


def test_it_moves_the_ca_keys_into_the_token_and_issues_with_them(
    counter: Any, token: Token, settings: Settings, tmp_path: Path
) -> None:
    from anchorid.jlis.crl import regenerate_crl
    from anchorid.jlis.issuance import issue_card

    rows_before = _key_files()
    result = _migrate_keys(argparse.Namespace(remove_files=False))
    moved = {entry["name"]: entry for entry in result["keys"]}
    for key_file, responder_key_file in rows_before:
        for file_name in (key_file, responder_key_file):
            entry = moved[file_name.removesuffix(".key.json")]
            assert entry["outcome"] == "imported"
            assert entry["checked"] == ["RS256", "PS256"]
            assert (Path(settings.JLIS_KEY_DIR) / file_name).exists()  # left alone without --remove-files

    settings.JLIS_KEYSTORE = "pkcs11"
    authority.clear_cache()
    card = issue_card(new_resident(family_name="硬件"))
    assert card.signature_certificate is not None
    sign_ca = tmp_path / "sign-ca.pem"
    sign_ca.write_bytes(authority.load_authority("sign").certificate_pem)
    auth_ca = tmp_path / "auth-ca.pem"
    auth_ca.write_bytes(authority.load_authority("auth").certificate_pem)
    signed = pem(tmp_path / "sign.pem", bytes(card.signature_certificate.der))
    authenticated = pem(tmp_path / "auth.pem", bytes(card.authentication_certificate.der))
    for ca, leaf in ((sign_ca, signed), (auth_ca, authenticated)):
        verified = openssl("verify", "-CAfile", ca, leaf)
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.strip().endswith("OK")
    crl = tmp_path / "sign.crl"
    crl.write_bytes(regenerate_crl(CertificateKind.SIGNATURE))
    checked = openssl("crl", "-inform", "DER", "-in", crl, "-CAfile", sign_ca, "-noout")
    assert checked.returncode == 0, checked.stderr
    assert "verify OK" in checked.stdout + checked.stderr
    assert _key_files() == rows_before
    assert keystore.check_keys_open() is None  # the startup check opens every key in the token


def test_it_generates_new_ca_keys_inside_the_token(token: Token, settings: Settings, tmp_path: Path) -> None:
    settings.JLIS_KEYSTORE = "pkcs11"
    created = authority._create(CertificateKind.AUTHENTICATION)  # not saved: the session's CAs stay as they are
    ca = pem(tmp_path / "ca.pem", bytes(created.certificate_der))
    responder = pem(tmp_path / "ocsp.pem", bytes(created.responder_certificate_der))
    assert openssl("verify", "-CAfile", ca, ca).returncode == 0
    verified = openssl("verify", "-CAfile", ca, responder)
    assert verified.returncode == 0, verified.stderr
    session = pkcs11.lib(MODULE).get_token(token_label=token.label).open()  # logged in by the store already
    for file_name in (created.key_file, created.responder_key_file):
        label = file_name.removesuffix(".key.json")
        [private] = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label})
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
    assert not (Path(settings.JLIS_KEY_DIR) / created.key_file).exists()


def test_it_refuses_to_start_with_a_wrong_pin(token: Token, settings: Settings) -> None:
    from anchorid.jlis.startup_checks import check_ca_keys

    settings.JLIS_KEYSTORE = "pkcs11"
    Pkcs11KeyStore(token.module, token.label, token.pin).create_key("sign-ca-test", "RSA-2048")
    assert check_ca_keys() == []
    settings.JLIS_PKCS11_PIN = "not-the-jlis-pin"
    [error] = check_ca_keys()
    assert "refused the PIN: wrong ANCHORID_JLIS_PKCS11_PIN" in error.msg
    assert "not-the-jlis-pin" not in error.msg
