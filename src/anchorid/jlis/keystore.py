"""CA private keys at rest: PKCS#8 files in the data folder, encrypted under the CA passphrase.

No plaintext private key is ever written. The passphrase comes from ``ANCHORID_JLIS_CA_PASSPHRASE``
(settings ``JLIS_CA_PASSPHRASE``); when it is unset a passphrase is derived from Django's ``SECRET_KEY`` with
HKDF so that a development data folder works without configuration. Keys sit behind this one module so that
they can move into an HSM without touching the callers.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from anchorid.jlis import conf

RSA_PUBLIC_EXPONENT = 65537
RSA_KEY_BITS = 2048
_HKDF_INFO = b"anchorid jlis CA key passphrase"


class KeyStoreError(RuntimeError):
    """A key file is missing, or cannot be decrypted with the configured passphrase."""


def _passphrase() -> bytes:
    configured = conf.ca_passphrase()
    if configured:
        return configured.encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(settings.SECRET_KEY.encode()).hex().encode()


def key_dir() -> Path:
    path = conf.key_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def generate_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)


def store_private_key(key: rsa.RSAPrivateKey, label: str) -> str:
    """Encrypt and write ``key``; returns the file name to keep in the database."""
    name = f"{label}-{secrets.token_hex(8)}.pem"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase()),
    )
    path = key_dir() / name
    # Created 0600 from the start: the file is encrypted, but there is no reason to let others read it.
    with open(path, "xb", opener=lambda p, flags: os.open(p, flags, 0o600)) as handle:
        handle.write(pem)
    return name


def load_private_key(name: str) -> rsa.RSAPrivateKey:
    path = key_dir() / name
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise KeyStoreError(f"CA key file {name} is missing from {path.parent}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=_passphrase())
    except (ValueError, TypeError):
        raise KeyStoreError(f"CA key file {name} cannot be decrypted: wrong ANCHORID_JLIS_CA_PASSPHRASE?") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyStoreError(f"CA key file {name} does not hold an RSA key")
    return key
