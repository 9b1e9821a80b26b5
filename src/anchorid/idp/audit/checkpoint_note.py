"""The text a checkpoint signs, shaped like a C2SP tlog checkpoint (the signed-note body Go's sumdb uses).

::

    anchorid.idp/audit                                  origin: names this log
    42                                                  tree size
    JyFRUPZ5+5Ps3LmtF0ioR1sGHcBxMd9MkHEOVDNZ4PM=        base64 RFC 6962 root hash of the first 42 entries
    time 2026-01-05T03:00:00.000000Z                    extension line: when it was signed

Each line ends with a newline. The signature is ES256 (ECDSA P-256, SHA-256) over those UTF-8 bytes,
DER-encoded, by the platform key named in ``key_id`` (hex SHA-256 of its SubjectPublicKeyInfo).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from anchorid.idp.keystore import PublicKey


@dataclass(frozen=True)
class CheckpointNote:
    origin: str
    tree_size: int
    root_hash: bytes
    time: str

    def text(self) -> str:
        if "\n" in self.origin or not self.origin:
            raise ValueError("a checkpoint origin is one non-empty line")
        return (
            f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode('ascii')}\ntime {self.time}\n"
        )

    def body(self) -> bytes:
        return self.text().encode("utf-8")


def signature_is_valid(
    note: CheckpointNote, key_id: str, signature_b64: str, trusted_keys: Mapping[str, PublicKey]
) -> str | None:
    """None when ``signature_b64`` is a valid ES256 signature over ``note`` by the trusted key ``key_id``;
    otherwise what is wrong."""
    public_key = trusted_keys.get(key_id)
    if public_key is None:
        return f"signed by key {key_id[:16]}…, which is not a trusted platform key"
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return "checkpoints are signed with EC P-256 keys (ES256)"
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, note.body(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return "its signature does not verify (the checkpoint was altered, or not signed by the platform key)"
    return None
