"""``anchorid wallet`` against a running idp (``anchorid serve idp``) and a running jlis, checked with openssl."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from anchorid.wallet.store import CERTIFICATE_FILE, SESSION_FILE


def fetch_pem(url: str, path: Path) -> Path:
    certificate = x509.load_der_x509_certificate(requests.get(url, timeout=10).content)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True)


def enrolled_wallet(live_idp: Any, directory: Path) -> Path:
    init = live_idp.run("wallet", "init", "--dir", str(directory), "--passphrase-stdin", stdin="wallet passphrase 1\n")
    assert init.returncode == 0, init.stderr
    assert "encrypted with the passphrase" in init.stdout
    enroll = live_idp.run(
        "wallet", "enroll", "--dir", str(directory), "--idp", live_idp.url, "--card", live_idp.card["card_file"],
        "--pin-stdin", "--device-name", "test phone",
        stdin=live_idp.card["signature_pin"] + "\n",
    )  # fmt: skip
    assert enroll.returncode == 0, enroll.stderr
    return directory


def test_it_a_wallet_enrolls_with_the_card_logs_in_and_is_revoked(live_idp: Any, tmp_path: Path) -> None:
    wallet = enrolled_wallet(live_idp, tmp_path / "wallet")
    assert (wallet / "key.pem").stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in (wallet / "key.pem").read_bytes()

    shown = json.loads(live_idp.run("wallet", "show", "--dir", str(wallet)).stdout)
    assert shown["certificate"]["issuer"] == "CN=AnchorID Device Issuing CA 1,O=AnchorID"
    assert shown["certificate"]["acr"] == "urn:anchorid:acr:ial3-aal2"
    serial = shown["certificate"]["serial"]

    # openssl verify against the chain the idp publishes
    root = fetch_pem(f"{live_idp.url}/pki/root.cer", tmp_path / "root.pem")
    issuing = fetch_pem(f"{live_idp.url}/pki/issuing.cer", tmp_path / "issuing.pem")
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(x509.load_pem_x509_certificates((wallet / CERTIFICATE_FILE).read_bytes())[0].public_bytes(
        serialization.Encoding.PEM
    ))  # fmt: skip
    verified = openssl("verify", "-purpose", "sslclient", "-CAfile", root, "-untrusted", issuing, leaf)
    assert verified.returncode == 0, verified.stderr

    # openssl ocsp against the running responder: good
    ocsp_args = ("ocsp", "-issuer", issuing, "-cert", leaf, "-url", f"{live_idp.url}/pki/ocsp", "-CAfile", root)
    good = openssl(*ocsp_args)
    assert good.returncode == 0, good.stderr
    assert f"{leaf}: good" in good.stdout
    assert "Response verify OK" in good.stderr

    # wallet login: a session at DERIVED with the device key
    login = live_idp.run("wallet", "login", "--dir", str(wallet))
    assert login.returncode == 0, login.stderr
    assert "urn:anchorid:acr:ial3-aal2 (swk)" in login.stdout
    session = json.loads((wallet / SESSION_FILE).read_text())
    assert session["cookie_value"]
    assert (wallet / SESSION_FILE).stat().st_mode & 0o777 == 0o600

    # a second wallet enrolls with that session (no card)
    second = tmp_path / "second"
    assert live_idp.run("wallet", "init", "--dir", str(second)).returncode == 0
    by_session = live_idp.run(
        "wallet", "enroll", "--dir", str(second), "--idp", live_idp.url, "--session-cookie", session["cookie_value"]
    )
    assert by_session.returncode == 0, by_session.stderr

    # staff revoke; OCSP says revoked at once, the CRL lists it, the wallet can no longer log in
    revoked = live_idp.run(
        "idp", "ca", "revoke", "--data", str(live_idp.data), "--serial", serial, "--reason", "keyCompromise"
    )
    assert revoked.returncode == 0, revoked.stderr
    after = openssl(*ocsp_args)
    assert f"{leaf}: revoked" in after.stdout
    assert "Reason: keyCompromise" in after.stdout
    crl_file = tmp_path / "issuing.crl"
    crl_file.write_bytes(requests.get(f"{live_idp.url}/pki/issuing.crl", timeout=10).content)
    crl = openssl("crl", "-inform", "DER", "-in", crl_file, "-noout", "-text", "-CAfile", issuing)
    assert crl.returncode == 0, crl.stderr
    assert "verify OK" in crl.stderr
    assert serial.upper().lstrip("0") in crl.stdout.replace(":", "").upper()
    refused = live_idp.run("wallet", "login", "--dir", str(wallet))
    assert refused.returncode == 1
    assert "certificate_revoked" in refused.stderr


def test_it_a_card_that_anchors_no_account_is_refused(live_idp: Any, jlis_server: Any, tmp_path: Path) -> None:
    stranger = jlis_server.card(2)
    wallet = tmp_path / "wallet"
    assert live_idp.run("wallet", "init", "--dir", str(wallet)).returncode == 0
    enroll = live_idp.run(
        "wallet", "enroll", "--dir", str(wallet), "--idp", live_idp.url, "--card", stranger["card_file"],
        "--pin-stdin", stdin=stranger["signature_pin"] + "\n",
    )  # fmt: skip
    assert enroll.returncode == 1
    assert "no_account" in enroll.stderr
    assert not (wallet / CERTIFICATE_FILE).exists()


def test_it_wallet_login_without_a_certificate_says_so(live_idp: Any, tmp_path: Path) -> None:
    wallet = tmp_path / "wallet"
    assert live_idp.run("wallet", "init", "--dir", str(wallet)).returncode == 0
    login = live_idp.run("wallet", "login", "--dir", str(wallet), "--idp", live_idp.url)
    assert login.returncode == 2
    assert "enroll" in login.stderr


def test_it_the_crl_of_the_root_verifies(live_idp: Any, tmp_path: Path) -> None:
    root = fetch_pem(f"{live_idp.url}/pki/root.cer", tmp_path / "root.pem")
    crl_file = tmp_path / "root.crl"
    crl_file.write_bytes(requests.get(f"{live_idp.url}/pki/root.crl", timeout=10).content)
    crl = openssl("crl", "-inform", "DER", "-in", crl_file, "-noout", "-CAfile", root)
    assert crl.returncode == 0, crl.stderr
    assert "verify OK" in crl.stderr
