"""Encryption of the four basic attributes at rest, and the person key that finds a person without them.

Keys come from ``ANCHORID_ATTRIBUTE_KEYS`` (comma-separated Fernet keys, newest first) or, in the embedded
default, from ``DATA_DIR/attribute_keys`` (created on first use, mode 0600). Fernet (AES-128-CBC +
HMAC-SHA256, from cryptography) authenticates every ciphertext; ``MultiFernet`` decrypts with any listed key
and ``rotate`` re-encrypts with the newest, which ``anchorid idp rotate-attribute-key`` applies to every row.

The person key is an HMAC-SHA256, under its own secret, of the normalized four attributes: the same person
with identical attributes on a re-issued card gets the same person key, so uniqueness can be enforced by the
database without storing the attributes in clear.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import unicodedata
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from anchorid.common import config
from anchorid.jpki.attributes import BasicFourInfo, Gender

KEYS_FILE = "attribute_keys"
PERSON_KEY_FILE = "person_key_secret"


class AttributeDecryptionError(Exception):
    """A ciphertext could not be decrypted with any configured key (wrong key set, or tampered)."""


def _data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _read_or_create(path: Path, make: bytes) -> bytes:
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make)
    return path.read_bytes().strip()


def configured_keys() -> list[bytes]:
    """Fernet keys, newest first."""
    env = config.ATTRIBUTE_KEYS.value()
    if env:
        return [key.strip().encode() for key in env.split(",") if key.strip()]
    raw = _read_or_create(_data_dir() / KEYS_FILE, Fernet.generate_key())
    return [line.strip() for line in raw.splitlines() if line.strip()]


def add_new_key() -> None:
    """Prepend a fresh key to the key file (embedded default). With the env variable, operators do this."""
    if config.ATTRIBUTE_KEYS.is_set():
        raise RuntimeError("keys come from ANCHORID_ATTRIBUTE_KEYS: prepend a new key there, then rotate")
    path = _data_dir() / KEYS_FILE
    keys = configured_keys()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(b"\n".join([Fernet.generate_key(), *keys]) + b"\n")
    tmp.replace(path)
    cipher.cache_clear()


@lru_cache(maxsize=1)
def cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in configured_keys()])


def _person_key_secret() -> bytes:
    env = config.PERSON_KEY_SECRET.value()
    if env:
        return env.encode()
    return _read_or_create(_data_dir() / PERSON_KEY_FILE, os.urandom(32).hex().encode())


def encode_attributes(info: BasicFourInfo) -> dict[str, str]:
    return {
        "name": info.name,
        "name_substitutes": info.name_substitutes,
        "birth_date": info.birth_date.isoformat(),
        "gender": info.gender.value,
        "address": info.address,
        "address_substitutes": info.address_substitutes,
    }


def decode_attributes(data: dict[str, str]) -> BasicFourInfo:
    return BasicFourInfo(
        name=data["name"],
        birth_date=datetime.date.fromisoformat(data["birth_date"]),
        gender=Gender(data["gender"]),
        address=data["address"],
        name_substitutes=data["name_substitutes"],
        address_substitutes=data["address_substitutes"],
    )


def encrypt_attributes(info: BasicFourInfo) -> bytes:
    return cipher().encrypt(json.dumps(encode_attributes(info), ensure_ascii=False).encode())


def decrypt_attributes(token: bytes) -> BasicFourInfo:
    try:
        plain = cipher().decrypt(bytes(token))
    except InvalidToken:
        # Another process (``anchorid idp rotate-attribute-key``) may have added a key to the key file and
        # re-encrypted this row since this process read the file: read it again once.
        cipher.cache_clear()
        try:
            plain = cipher().decrypt(bytes(token))
        except InvalidToken:
            raise AttributeDecryptionError("attributes cannot be decrypted with the configured keys") from None
    return decode_attributes(json.loads(plain))


def rotate_token(token: bytes) -> bytes:
    return cipher().rotate(bytes(token))


def person_key(info: BasicFourInfo) -> str:
    """HMAC of the NFKC-normalized four attributes (whitespace-insensitive name and address)."""

    def norm(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).split())

    material = "\x1f".join([norm(info.name), info.birth_date.isoformat(), info.gender.value, norm(info.address)])
    return hmac.new(_person_key_secret(), material.encode(), hashlib.sha256).hexdigest()
