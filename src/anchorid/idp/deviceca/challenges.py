"""One-time challenges and the client data a wallet (or the card) signs over them.

A challenge is 32 random bytes (base64url, no padding), valid for 5 minutes, spent by the first attempt that
presents it (one conditional UPDATE: replays and races lose). Only its SHA-256 is stored.

What gets signed is not the bare challenge but *client data*, a small JSON object (as WebAuthn's
clientDataJSON), so a signature is bound to its purpose, to this idp's origin and, for enrollment, to the CSR:

    {"type": "anchorid.wallet.enroll", "challenge": "<b64url>", "origin": "https://idp.example",
     "csr_sha256": "<hex of SHA-256 of the DER CSR>"}
    {"type": "anchorid.wallet.login", "challenge": "<b64url>", "origin": "https://idp.example"}

A signature relayed through another site carries that site's origin and is refused here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from anchorid.common import untrusted_json
from anchorid.idp.deviceca.models import WalletChallenge

CHALLENGE_BYTES = 32
CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_CLIENT_DATA_BYTES = 1024
TYPE_ENROLL = "anchorid.wallet.enroll"
TYPE_LOGIN = "anchorid.wallet.login"
TYPES = {WalletChallenge.Purpose.ENROLL: TYPE_ENROLL, WalletChallenge.Purpose.LOGIN: TYPE_LOGIN}


class ChallengeError(ValueError):
    """A refusal with a stable ``code`` for the API and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hash(challenge: str) -> str:
    return hashlib.sha256(challenge.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class IssuedChallenge:
    challenge: str
    expires_at: Any


def new_challenge(purpose: str) -> IssuedChallenge:
    challenge = b64url(secrets.token_bytes(CHALLENGE_BYTES))
    now = timezone.now()
    row = WalletChallenge.objects.create(
        challenge_hash=_hash(challenge), purpose=purpose, created_at=now, expires_at=now + CHALLENGE_LIFETIME
    )
    # Expired challenges are useless; sweep a few old ones on the way so the table stays small.
    WalletChallenge.objects.filter(expires_at__lt=now - CHALLENGE_LIFETIME).exclude(pk=row.pk).delete()
    return IssuedChallenge(challenge, row.expires_at)


def spend_challenge(challenge: str, purpose: str) -> None:
    """Mark the challenge used, or refuse: unknown or already used, expired, or issued for another purpose."""
    now = timezone.now()
    digest = _hash(challenge) if challenge.isascii() else ""
    spent = WalletChallenge.objects.filter(
        challenge_hash=digest, purpose=purpose, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if spent == 1:
        return
    row = WalletChallenge.objects.filter(challenge_hash=digest).first()
    if row is None:
        raise ChallengeError("challenge_unknown", "this challenge was not issued here; ask for a new one")
    if row.purpose != purpose:
        raise ChallengeError("challenge_wrong_purpose", f"this challenge was issued for {row.purpose}, not {purpose}")
    if row.used_at is not None:
        raise ChallengeError("challenge_replayed", "this challenge was already used; ask for a new one")
    raise ChallengeError("challenge_expired", "this challenge has expired (5 minutes); ask for a new one")


@dataclass(frozen=True)
class ClientData:
    raw: bytes
    type: str
    challenge: str
    origin: str
    csr_sha256: str | None


def client_data_json(purpose: str, challenge: str, origin: str, *, csr_sha256: str | None = None) -> bytes:
    """What the wallet signs (the server only ever parses it)."""
    data: dict[str, str] = {"type": TYPES[WalletChallenge.Purpose(purpose)], "challenge": challenge, "origin": origin}
    if csr_sha256 is not None:
        data["csr_sha256"] = csr_sha256
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def parse_client_data(encoded: Any, purpose: str, expected_origin: str) -> ClientData:
    """Decode (base64url) and check type and origin. The challenge itself is spent by the caller."""
    if not isinstance(encoded, str):
        raise ChallengeError("client_data_invalid", "client_data must be a base64url string")
    try:
        raw = unb64url(encoded)
    except (binascii.Error, ValueError):
        raise ChallengeError("client_data_invalid", "client_data is not base64url") from None
    if len(raw) > MAX_CLIENT_DATA_BYTES:
        raise ChallengeError("client_data_invalid", "client_data is too long")
    try:
        data = untrusted_json.loads(raw)
    except ValueError:
        raise ChallengeError("client_data_invalid", "client_data is not JSON") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("type", "challenge", "origin")):
        raise ChallengeError("client_data_invalid", "client_data needs string type, challenge and origin")
    if data["type"] != TYPES[WalletChallenge.Purpose(purpose)]:
        raise ChallengeError(
            "client_data_invalid", f"client_data type must be {TYPES[WalletChallenge.Purpose(purpose)]}"
        )
    if data["origin"] != expected_origin:
        raise ChallengeError(
            "origin_mismatch", f"the signature was made for {data['origin']!r}, but this is {expected_origin!r}"
        )
    csr_sha256 = data.get("csr_sha256")
    if csr_sha256 is not None and not isinstance(csr_sha256, str):
        raise ChallengeError("client_data_invalid", "csr_sha256 must be a hex string")
    return ClientData(raw, data["type"], data["challenge"], data["origin"], csr_sha256)
