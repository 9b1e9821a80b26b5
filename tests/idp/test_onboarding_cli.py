"""Onboarding commands: ``anchorid card-helper``, ``idp jlis-setup``, ``idp rotate-attribute-key``."""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from pytest_django.fixtures import Settings

from anchorid.idp.accounts import attribute_crypto
from anchorid.idp.accounts.models import Account
from anchorid.jpki.attributes import BasicFourInfo, Gender
from anchorid.jpki.verify import verify_signature

from .onboarding_support import ADULT_PLAIN, IDP_ORIGIN, KEYSTORE_PASSPHRASE, Jlis, free_port


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    return {**env, **extra}


def _anchorid(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anchorid.cli", *args], env=_env(**env), capture_output=True, text=True, timeout=120
    )


def test_it_serves_the_card_helper_from_the_command_line(onboarding_jlis: Jlis, tmp_path: Path) -> None:
    card = onboarding_jlis.adult(ADULT_PLAIN)
    card_file = tmp_path / "card.json"
    shutil.copy2(card["card_file"], card_file)
    port = free_port()
    helper = subprocess.Popen(
        [
            *(sys.executable, "-m", "anchorid.cli", "card-helper", "--card", str(card_file), "--port", str(port)),
            *("--idp-origin", IDP_ORIGIN, "--pin-stdin"),
        ],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                status = requests.get(f"{url}/v1/status", headers={"Origin": IDP_ORIGIN}, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the card helper did not start"
                time.sleep(0.1)
        assert status.json() == {"helper": "anchorid-card-helper", "protocol": 1}
        assert status.headers["Access-Control-Allow-Origin"] == IDP_ORIGIN
        assert helper.stdin is not None
        helper.stdin.write(card["signature_pin"] + "\n")
        helper.stdin.flush()
        challenge = f"anchorid-onboarding/1 {IDP_ORIGIN} {'A' * 43}"
        signed = requests.post(
            f"{url}/v1/sign", json={"challenge": challenge}, headers={"Origin": IDP_ORIGIN}, timeout=20
        ).json()

        def unb64(text: str) -> bytes:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

        certificate = x509.load_der_x509_certificate(unb64(signed["certificate"]))
        verify_signature(certificate, challenge.encode(), unb64(signed["signature"]))
    finally:
        helper.terminate()
        _, stderr = helper.communicate(timeout=10)
    assert card["signature_pin"] not in stderr
    assert "POST /v1/sign 200" in stderr


def test_it_sets_up_the_jlis_trust_and_operator_key(onboarding_jlis: Jlis, tmp_path: Path) -> None:
    done = _anchorid(
        "idp", "jlis-setup", "--data", str(tmp_path), "--jlis", onboarding_jlis.url,
        ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (tmp_path / "jlis-ca" / "sign-ca.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    jwk = json.loads(Path(report["operator_jwk"]).read_text())
    assert jwk["crv"] == "P-256"
    assert "d" not in jwk
    registered = onboarding_jlis.cli("operator", "add", "--name", "setup-test", "--jwk", report["operator_jwk"])
    assert registered["operator"] == "setup-test"


def test_it_fails_setup_clearly_when_jlis_is_down(tmp_path: Path) -> None:
    done = _anchorid(
        "idp", "jlis-setup", "--data", str(tmp_path), "--jlis", f"http://127.0.0.1:{free_port()}",
        ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unreachable" in done.stderr


def test_it_rotates_the_attribute_key_from_the_command_line(tmp_path: Path) -> None:
    done = _anchorid("idp", "rotate-attribute-key", "--data", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 0 accounts under the newest of 2 keys" in done.stdout
    assert len((tmp_path / attribute_crypto.KEYS_FILE).read_bytes().split()) == 2


@pytest.mark.django_db
def test_it_re_encrypts_every_account_under_a_new_key(settings: Settings, tmp_path: Path) -> None:
    from anchorid.idp.onboarding.records import rotate_attribute_key

    settings.DATA_DIR = tmp_path
    attribute_crypto.cipher.cache_clear()
    try:
        info = BasicFourInfo.plain("鎌倉　花子", datetime.date(1990, 1, 2), Gender.FEMALE, "神奈川県鎌倉市御成町１番")
        for index in range(3):
            account = Account(handle=f"resident-{index}")
            account.set_attributes(info, verified_how="jpki-signature-certificate")
            account.person_key = f"{index:064x}"
            account.save()
        Account.objects.create_user("staff-without-attributes")
        old_key = (tmp_path / attribute_crypto.KEYS_FILE).read_bytes().split()[0]
        report = rotate_attribute_key()
        assert (report.rotated, report.without_attributes, report.undecryptable, report.keys) == (3, 1, 0, 2)
        new_key = (tmp_path / attribute_crypto.KEYS_FILE).read_bytes().split()[0]
        from cryptography.fernet import Fernet

        for account in Account.objects.exclude(attributes_ciphertext=None):
            assert account.attributes() == info
            Fernet(new_key).decrypt(bytes(account.attributes_ciphertext))  # type: ignore[arg-type]
        assert new_key != old_key
    finally:
        attribute_crypto.cipher.cache_clear()


def test_it_reads_a_key_added_by_another_process_when_a_row_does_not_decrypt(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server keeps the key list it read; ``anchorid idp rotate-attribute-key`` in another process prepends a key
    and re-encrypts every row under it. The server reads the key file again when a row does not decrypt."""
    from cryptography.fernet import Fernet

    monkeypatch.delenv("ANCHORID_ATTRIBUTE_KEYS", raising=False)
    settings.DATA_DIR = tmp_path
    attribute_crypto.cipher.cache_clear()
    try:
        info = BasicFourInfo.plain("鎌倉　太郎", datetime.date(1985, 5, 6), Gender.MALE, "神奈川県鎌倉市御成町２番")
        attribute_crypto.decrypt_attributes(attribute_crypto.encrypt_attributes(info))  # the server's list, cached
        done = _anchorid("idp", "rotate-attribute-key", "--data", str(tmp_path))  # the other process
        assert done.returncode == 0, done.stderr
        new_key = (tmp_path / attribute_crypto.KEYS_FILE).read_bytes().split()[0]
        row = Fernet(new_key).encrypt(json.dumps(attribute_crypto.encode_attributes(info)).encode())
        assert attribute_crypto.decrypt_attributes(row) == info
    finally:
        attribute_crypto.cipher.cache_clear()
