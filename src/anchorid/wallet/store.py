"""The wallet folder: the key, the certificate and the last session, each readable by the owner only.

    WALLET/key.pem           PKCS#8 PEM; encrypted with the passphrase when one is given (best available
                             encryption of ``cryptography``), otherwise in clear with mode 0600
    WALLET/certificate.pem   the device certificate, then its chain (issuing CA, root)
    WALLET/wallet.json       which idp enrolled it, the credential id, serial, validity and acr
    WALLET/session.json      the session of the last ``anchorid wallet login`` (a bearer secret: 0600)

The folder is created 0700; files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_FILE = "key.pem"
CERTIFICATE_FILE = "certificate.pem"
META_FILE = "wallet.json"
SESSION_FILE = "session.json"
MIN_PASSPHRASE_LENGTH = 8


class WalletError(Exception):
    """Something about the wallet folder is wrong; the message says what (never any key material)."""


def _write_private(path: Path, content: bytes, *, replace: bool = True) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise WalletError(f"{path} exists; a wallet key is never overwritten") from None
    finally:
        temporary.unlink(missing_ok=True)


class Wallet:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    # -- the key

    def create_key(self, passphrase: str | None) -> ec.EllipticCurvePublicKey:
        if passphrase is not None and len(passphrase) < MIN_PASSPHRASE_LENGTH:
            raise WalletError(f"the passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters")
        key = ec.generate_private_key(ec.SECP256R1())
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
            if passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(self.directory / KEY_FILE, pem, replace=False)
        return key.public_key()

    def key_is_encrypted(self) -> bool:
        return b"ENCRYPTED" in self._key_pem().split(b"\n", 1)[0]

    def _key_pem(self) -> bytes:
        try:
            return (self.directory / KEY_FILE).read_bytes()
        except FileNotFoundError:
            raise WalletError(
                f"no wallet key in {self.directory}: run `anchorid wallet init --dir ...` first"
            ) from None

    def private_key(self, passphrase: str | None) -> ec.EllipticCurvePrivateKey:
        pem = self._key_pem()
        try:
            key = serialization.load_pem_private_key(pem, passphrase.encode("utf-8") if passphrase else None)
        except TypeError:
            raise WalletError("the wallet key is encrypted: give its passphrase (ANCHORID_WALLET_PASSPHRASE)") from None
        except ValueError:
            raise WalletError("cannot open the wallet key: wrong passphrase, or the key file was altered") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise WalletError("the wallet key is not an EC P-256 key")
        return key

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """Read from the certificate when there is one (no passphrase needed), else from the key file."""
        certificate = self.certificate()
        if certificate is not None:
            public_key = certificate.public_key()
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            return public_key
        if self.key_is_encrypted():
            raise WalletError("the wallet key is encrypted and not yet certified; its public key needs the passphrase")
        return self.private_key(None).public_key()

    # -- certificate and metadata

    def store_certificate(self, certificate_pem: bytes, chain_pem: bytes, meta: dict[str, Any]) -> None:
        _write_private(self.directory / CERTIFICATE_FILE, certificate_pem + chain_pem)
        _write_private(self.directory / META_FILE, json.dumps(meta, indent=1).encode("utf-8"))

    def certificate(self) -> x509.Certificate | None:
        path = self.directory / CERTIFICATE_FILE
        if not path.exists():
            return None
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
        return certificates[0]

    def chain(self) -> list[x509.Certificate]:
        path = self.directory / CERTIFICATE_FILE
        return x509.load_pem_x509_certificates(path.read_bytes())[1:] if path.exists() else []

    def meta(self) -> dict[str, Any]:
        return self._json(META_FILE)

    # -- session

    def store_session(self, session: dict[str, Any]) -> None:
        _write_private(self.directory / SESSION_FILE, json.dumps(session, indent=1).encode("utf-8"))

    def session(self) -> dict[str, Any]:
        return self._json(SESSION_FILE)

    def _json(self, name: str) -> dict[str, Any]:
        path = self.directory / name
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise WalletError(f"{path} is not valid JSON") from None
        return data if isinstance(data, dict) else {}
