"""openssl accepts what jlis issues and answers: x509, verify, crl, and ocsp against the running server."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_der_x509_certificate, ocsp

from anchorid.jlis.authority import load_authority
from anchorid.jpki.cardfile import CardFile, KeySlot


def _openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=check)


def _pem(path: Path, der: bytes) -> Path:
    path.write_bytes(load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
    return path


def _ca_pem(path: Path, kind: str) -> Path:
    path.write_bytes(load_authority(kind).certificate_pem)
    return path


@pytest.fixture
def pems(tmp_path: Path, counter: Any) -> dict[str, Path]:
    return {
        "sign": _pem(tmp_path / "sign.pem", bytes(counter.adult.signature_certificate.der)),
        "auth": _pem(tmp_path / "auth.pem", bytes(counter.adult.authentication_certificate.der)),
        "sign-ca": _ca_pem(tmp_path / "sign-ca.pem", "sign"),
        "auth-ca": _ca_pem(tmp_path / "auth-ca.pem", "auth"),
    }


@pytest.mark.django_db
def test_it_issues_certificates_openssl_can_print(pems: dict[str, Path]) -> None:
    text = _openssl("x509", "-in", pems["sign"], "-noout", "-text").stdout
    assert "Issuer: C = JP, O = JPKI, OU = JPKI for digital signature" in text
    assert "1.2.392.200149.8.5.1.1.20" in text
    assert "Digital Signature, Non Repudiation" in text
    assert "othername" in text.lower()
    ca_text = _openssl("x509", "-in", pems["auth-ca"], "-noout", "-text").stdout
    assert "CA:TRUE" in ca_text


@pytest.mark.django_db
def test_it_verifies_against_the_right_ca_only(pems: dict[str, Path]) -> None:
    assert _openssl("verify", "-CAfile", pems["sign-ca"], pems["sign"]).stdout.strip().endswith("OK")
    assert _openssl("verify", "-CAfile", pems["auth-ca"], pems["auth"]).stdout.strip().endswith("OK")
    assert _openssl("verify", "-CAfile", pems["auth-ca"], pems["sign"], check=False).returncode != 0
    assert _openssl("verify", "-CAfile", pems["sign-ca"], pems["auth"], check=False).returncode != 0


@pytest.mark.django_db
def test_it_serves_crls_openssl_can_read(client: Any, tmp_path: Path, fresh: Any, pems: dict[str, Path]) -> None:
    from anchorid.jlis import lifeevents

    lifeevents.move(fresh.card.resident, address="神奈川県鎌倉市材木座四丁目１番２号")
    crl = tmp_path / "sign.crl"
    crl.write_bytes(client.get("/crl/sign.crl").content)
    text = _openssl("crl", "-inform", "DER", "-in", crl, "-noout", "-text").stdout
    assert f"Serial Number: {fresh.signature_certificate.serial:X}" in text.replace(
        "Serial Number: 0", "Serial Number: "
    )
    assert "Affiliation Changed" in text
    assert "Invalidity Date" in text
    assert "X509v3 CRL Number" in text
    verified = _openssl("crl", "-inform", "DER", "-in", crl, "-CAfile", pems["sign-ca"], "-noout")
    assert "verify OK" in verified.stderr + verified.stdout


# --- the running server ---------------------------------------------------------------------------------------


def _card_pems(live: Any, entry: dict[str, Any], tmp_path: Path) -> dict[str, Path]:
    card = CardFile.load(Path(entry["card_file"]))
    out = {}
    for name, slot in (("sign", KeySlot.SIGNATURE), ("auth", KeySlot.AUTHENTICATION)):
        der = card.certificate_der(slot)
        if der is not None:
            out[name] = _pem(tmp_path / f"{entry['resident_id']}-{name}.pem", der)
    return out


def _ocsp(live: Any, kind: str, cert: Path, *extra: str) -> str:
    result = _openssl(
        "ocsp",
        "-issuer",
        live.pem / f"{kind}-ca.pem",
        "-cert",
        cert,
        "-url",
        f"{live.url}/ocsp/{kind}",
        "-CAfile",
        live.pem / f"{kind}-ca.pem",
        *extra,
    )
    return result.stdout + result.stderr


def _adults(live: Any) -> list[dict[str, Any]]:
    return [e for e in live.cards if e["has_signature_certificate"]]


def test_it_seeds_residents_with_cards_and_pins(live_jlis: Any) -> None:
    assert len(live_jlis.cards) == 6
    for entry in live_jlis.cards:
        assert Path(entry["card_file"]).exists()
        assert len(entry["authentication_pin"]) == 4
    assert _adults(live_jlis)


def test_it_answers_openssl_ocsp_good_for_both_certificates(live_jlis: Any, tmp_path: Path) -> None:
    pems = _card_pems(live_jlis, _adults(live_jlis)[0], tmp_path)
    out = _ocsp(live_jlis, "sign", pems["sign"])
    assert "Response verify OK" in out
    assert f"{pems['sign']}: good" in out
    out = _ocsp(live_jlis, "auth", pems["auth"], "-VAfile", str(live_jlis.pem / "auth-ocsp.pem"), "-no_nonce")
    assert "Response verify OK" in out
    assert f"{pems['auth']}: good" in out


def test_it_answers_revoked_for_the_signature_and_good_for_auth_right_after_a_move(
    live_jlis: Any, tmp_path: Path
) -> None:
    entry = _adults(live_jlis)[-1]
    pems = _card_pems(live_jlis, entry, tmp_path)
    assert f"{pems['sign']}: good" in _ocsp(live_jlis, "sign", pems["sign"], "-no_nonce")
    moved = live_jlis.cli(
        "move", "--resident", str(entry["resident_id"]), "--address", "神奈川県鎌倉市大船一丁目１番１号"
    )
    assert moved["revoked"][0]["reason"] == "affiliationChanged"
    sign = _ocsp(live_jlis, "sign", pems["sign"], "-no_nonce")
    assert "Response verify OK" in sign
    assert f"{pems['sign']}: revoked" in sign
    assert "Reason: affiliationChanged" in sign
    assert f"{pems['auth']}: good" in _ocsp(live_jlis, "auth", pems["auth"])


def test_it_answers_unknown_for_a_certificate_of_the_other_ca(live_jlis: Any, tmp_path: Path) -> None:
    pems = _card_pems(live_jlis, _adults(live_jlis)[0], tmp_path)
    out = _openssl(
        "ocsp",
        "-issuer",
        live_jlis.pem / "sign-ca.pem",
        "-cert",
        pems["auth"],
        "-url",
        f"{live_jlis.url}/ocsp/sign",
        "-noverify",
    )
    assert f"{pems['auth']}: unknown" in out.stdout


def test_it_answers_get_requests_and_garbage_over_http(live_jlis: Any, tmp_path: Path) -> None:
    pems = _card_pems(live_jlis, _adults(live_jlis)[0], tmp_path)
    request_der = tmp_path / "req.der"
    _openssl(
        "ocsp", "-issuer", live_jlis.pem / "auth-ca.pem", "-cert", pems["auth"], "-no_nonce", "-reqout", request_der
    )
    encoded = base64.b64encode(request_der.read_bytes()).decode()
    response = requests.get(f"{live_jlis.url}/ocsp/auth/{quote(encoded, safe='')}", timeout=5)
    assert response.status_code == 200
    assert ocsp.load_der_ocsp_response(response.content).certificate_status == ocsp.OCSPCertStatus.GOOD
    garbage = requests.post(f"{live_jlis.url}/ocsp/auth", data=b"\x30\x80garbage", timeout=5)
    assert garbage.status_code == 200
    assert ocsp.load_der_ocsp_response(garbage.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_it_serves_a_crl_over_http_that_openssl_reads(live_jlis: Any, tmp_path: Path) -> None:
    crl = tmp_path / "auth.crl"
    crl.write_bytes(requests.get(f"{live_jlis.url}/crl/auth.crl", timeout=5).content)
    result = _openssl("crl", "-inform", "DER", "-in", crl, "-CAfile", live_jlis.pem / "auth-ca.pem", "-noout", "-text")
    assert "JPKI for user authentication" in result.stdout
    assert "verify OK" in result.stderr + result.stdout
