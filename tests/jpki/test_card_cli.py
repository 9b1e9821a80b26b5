import base64
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference


def card_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anchorid.cli", "card", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_it_shows_card_info_without_asking_a_pin(card_path: Path) -> None:
    result = card_cli("info", "--card", str(card_path))
    assert result.returncode == 0, result.stderr
    serial = CardFile.load(card_path).certificate(KeySlot.AUTHENTICATION).serial_number
    assert "JPKIAPICCTOKEN2" in result.stdout
    assert "signature certificate:  present" in result.stdout
    assert f"{serial:X}" in result.stdout


def test_it_shows_tries_left_per_pin(card_path: Path) -> None:
    CardFile.load(card_path).try_pin(PinReference.AUTHENTICATION, b"0000")
    result = card_cli("pin-status", "--card", str(card_path))
    assert result.returncode == 0
    assert "signature PIN:       5 tries left" in result.stdout
    assert "authentication PIN:  2 tries left" in result.stdout


def test_it_signs_with_a_pin_from_stdin_and_prints_base64(card_path: Path, tmp_path: Path, card_secrets) -> None:
    document = tmp_path / "document.txt"
    document.write_bytes(b"application for a residence certificate")
    certificate_path = tmp_path / "signer.pem"
    result = card_cli(
        "sign", "--card", str(card_path), "--data", str(document), "--pin-stdin", "--cert-out", str(certificate_path),
        stdin=card_secrets.signature_pin + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert card_secrets.signature_pin not in result.stdout + result.stderr
    certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    certificate.public_key().verify(
        base64.b64decode(result.stdout), document.read_bytes(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_it_writes_a_raw_signature_with_the_auth_key(card_path: Path, tmp_path: Path, card_secrets) -> None:
    document, out = tmp_path / "nonce.bin", tmp_path / "nonce.sig"
    document.write_bytes(b"\x00\x01nonce")
    result = card_cli(
        "sign", "--card", str(card_path), "--data", str(document), "--key", "authentication", "--pin-stdin",
        "--out", str(out), stdin=card_secrets.authentication_pin + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    CardFile.load(card_path).public_key(KeySlot.AUTHENTICATION).verify(
        out.read_bytes(), document.read_bytes(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_it_says_wrong_pin_with_tries_left_and_fails(card_path: Path, tmp_path: Path) -> None:
    document = tmp_path / "d.txt"
    document.write_text("x")
    result = card_cli("sign", "--card", str(card_path), "--data", str(document), "--pin-stdin", stdin="WRONGPIN9\n")
    assert result.returncode != 0
    assert "wrong PIN: 4 tries left" in result.stderr
    assert "WRONGPIN9" not in result.stdout + result.stderr


def test_it_says_the_pin_is_blocked(card_path: Path, tmp_path: Path) -> None:
    card = CardFile.load(card_path)
    for _ in range(5):
        card.try_pin(PinReference.SIGNATURE, b"WRONG1")
    document = tmp_path / "d.txt"
    document.write_text("x")
    result = card_cli("sign", "--card", str(card_path), "--data", str(document), "--pin-stdin", stdin="ANYPIN1\n")
    assert result.returncode != 0
    assert "blocked" in result.stderr
    assert "BLOCKED" in card_cli("pin-status", "--card", str(card_path)).stdout


def test_it_refuses_a_malformed_pin_without_touching_the_card(card_path: Path, tmp_path: Path) -> None:
    document = tmp_path / "d.txt"
    document.write_text("x")
    result = card_cli("sign", "--card", str(card_path), "--data", str(document), "--pin-stdin", stdin="abc\n")
    assert result.returncode != 0
    assert "nothing was sent to the card" in result.stderr
    assert CardFile.load(card_path).pin_tries_left(PinReference.SIGNATURE) == 5


def test_it_says_there_is_no_card(tmp_path: Path) -> None:
    result = card_cli("info", "--card", str(tmp_path / "missing.json"))
    assert result.returncode != 0
    assert "no card" in result.stderr
