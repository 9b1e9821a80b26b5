"""``keys migrate --to pkcs11``: move the keys of an encrypted-file KeyStore into a PKCS#11 token.

Each key is imported under its own name as a sensitive, non-extractable token object (importing is the only way to
keep the key ids in the JWKS, the certificates the CA keys issued and the database rows that name the keys valid),
then checked: the token's public key must be the file's, and a signature the token makes over a fresh challenge
must verify under the file's public key. A key already in the token under that name is checked the same way and
left alone, so an interrupted migration can be run again. A different key under the same name stops the
migration before anything else is moved.

The key files are left where they are unless ``remove_files``: they are then a second, passphrase-sealed copy,
which is what lets an operator switch back (unset ``ANCHORID_KEYSTORE``) while the HSM set-up is being proven.
Whoever wants the keys to exist only in the HSM removes them, once every key has been checked (docs/keystore.md;
a real deployment would rather generate new keys in the HSM and rotate, docs/decisions.md D24).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

from anchorid.idp.keystore import EncryptedFileKeyStore, KeyStoreError, PublicKey, SignatureAlgorithm, key_id
from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore


class MigrationError(KeyStoreError):
    """A key could not be moved or did not check out in the token; the message names it."""


@dataclass(frozen=True)
class MovedKey:
    name: str
    key_id: str
    #: ``imported``, or ``already in the token`` (an earlier run moved it)
    outcome: str
    #: the signature algorithms checked with the token's copy
    checked: tuple[str, ...]
    file_removed: bool = False


def migrate_to_token(
    source: EncryptedFileKeyStore, target: Pkcs11KeyStore, *, remove_files: bool = False
) -> list[MovedKey]:
    """Move every key of ``source`` into ``target`` and check each; remove the files only when asked and only
    after all of them checked out."""
    names = source.list()
    plan: list[tuple[str, PublicKey, bool]] = []
    for name in names:
        public_key = source.public_key(name)  # opens it: a wrong passphrase stops here, before the token is touched
        present = target.has_key(name)
        if present and key_id(target.public_key(name)) != key_id(public_key):
            raise MigrationError(f"the token already holds a different key named {name!r}: nothing was moved")
        plan.append((name, public_key, present))
    moved: list[MovedKey] = []
    for name, public_key, present in plan:
        if not present:
            source.copy_into(name, target)
        checked = check_copy(target, name, public_key)
        moved.append(MovedKey(name, key_id(public_key), "already in the token" if present else "imported", checked))
    if remove_files:
        for index, entry in enumerate(moved):
            source.remove(entry.name)
            moved[index] = MovedKey(entry.name, entry.key_id, entry.outcome, entry.checked, file_removed=True)
    return moved


def check_copy(target: Pkcs11KeyStore, name: str, expected: PublicKey) -> tuple[str, ...]:
    """The token's key ``name`` has the ``expected`` public key and signs what verifies under it."""
    if key_id(target.public_key(name)) != key_id(expected):
        raise MigrationError(f"the token's public key for {name!r} is not the file's")
    algorithms: tuple[SignatureAlgorithm, ...] = (
        ("ES256",) if isinstance(expected, ec.EllipticCurvePublicKey) else ("RS256", "PS256")
    )
    for algorithm in algorithms:
        challenge = b"anchorid keys migrate " + secrets.token_bytes(32)
        signature = target.sign(name, challenge, algorithm)
        try:
            _verify(expected, signature, challenge, algorithm)
        except InvalidSignature:
            raise MigrationError(
                f"the token's copy of {name!r} made a {algorithm} signature that does not verify"
            ) from None
    return algorithms


def _verify(public_key: PublicKey, signature: bytes, data: bytes, algorithm: str) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        return
    assert isinstance(public_key, rsa.RSAPublicKey)
    if algorithm == "RS256":
        public_key.verify(signature, data, asym_padding.PKCS1v15(), hashes.SHA256())
        return
    pss = asym_padding.PSS(mgf=asym_padding.MGF1(hashes.SHA256()), salt_length=asym_padding.PSS.DIGEST_LENGTH)
    public_key.verify(signature, data, pss, hashes.SHA256())
