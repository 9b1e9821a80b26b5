"""A software WebAuthn authenticator for tests: real ES256 keys, real CBOR, real signatures.

It answers the JSON options our pages receive with the JSON our pages send back (what ``passkeys.js`` builds
from ``navigator.credentials``), so the server code under test is the code a browser exercises. Knobs make
it misbehave on purpose: another origin, no user verification, a counter that goes backwards.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_AT = 0x40


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()


@dataclass
class SoftAuthenticator:
    origin: str
    rp_id: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_count: int = 0
    user_handle: bytes | None = None

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, flags: int, *, attested: bool) -> bytes:
        data = hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count)
        if attested:
            data += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        return data

    def create(self, options: dict[str, Any] | str, *, origin: str | None = None, uv: bool = True) -> str:
        options = json.loads(options) if isinstance(options, str) else options
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        client_data = _client_data("webauthn.create", options["challenge"], origin or self.origin)
        flags = FLAG_UP | FLAG_AT | (FLAG_UV if uv else 0)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": self._auth_data(flags, attested=True)})
        return json.dumps(
            {
                "id": bytes_to_base64url(self.credential_id),
                "rawId": bytes_to_base64url(self.credential_id),
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["internal"],
                },
            }
        )

    def get(
        self,
        options: dict[str, Any] | str,
        *,
        origin: str | None = None,
        uv: bool = True,
        counter_step: int = 1,
    ) -> str:
        options = json.loads(options) if isinstance(options, str) else options
        self.sign_count += counter_step
        client_data = _client_data("webauthn.get", options["challenge"], origin or self.origin)
        auth_data = self._auth_data(FLAG_UP | (FLAG_UV if uv else 0), attested=False)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": bytes_to_base64url(self.credential_id),
                "rawId": bytes_to_base64url(self.credential_id),
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(auth_data),
                    "signature": bytes_to_base64url(signature),
                    "userHandle": bytes_to_base64url(self.user_handle) if self.user_handle else None,
                },
            }
        )
