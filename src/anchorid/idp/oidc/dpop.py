"""OAuth 2.0 Demonstrating Proof of Possession (DPoP), RFC 9449.

§4.2 a proof is a JWT with ``typ: dpop+jwt``, an asymmetric ``alg`` (not ``none``), the public ``jwk`` in its
header, and claims ``jti``, ``htm``, ``htu``, ``iat`` (+ ``ath`` with an access token, + ``nonce`` when the server
gave one). §4.3 the server checks, among others: "the JWT signature verifies with the public key contained in the
jwk JOSE Header Parameter", "the htm claim matches the HTTP method", "the htu claim matches the HTTP URI value for
the HTTP request in which the JWT was received, ignoring any query and fragment parts", "the creation time of the
JWT, as determined by either the iat claim or a server managed timestamp via the nonce claim, is within an
acceptable window", "if presented to a protected resource in conjunction with an access token, ... the value of
the ath claim equals the hash of that access token", "the public key ... matches the public key to which the
access token is bound". §11.1 jti replay. §8 server-provided nonces (``DPoP-Nonce``, error ``use_dpop_nonce``).
§6.1 the binding is the JWK SHA-256 thumbprint (RFC 7638) in ``cnf.jkt``.

Nonces are stateless: ``BASE64URL(window || HMAC(key, window)[:16])`` with ``window = floor(now / 300 s)``; the
current and the previous window are accepted, so any worker accepts any worker's nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from anchorid.idp.oidc import config, replay
from anchorid.idp.oidc.errors import INVALID_DPOP_PROOF, USE_DPOP_NONCE, OAuthError
from anchorid.idp.oidc.jose import InvalidJws, b64url, b64url_decode, import_proof_jwk, unverified_header, verify
from anchorid.idp.oidc.secrets_ import derived_key

TYP = "dpop+jwt"
NONCE_MAC_SIZE = 16
FUTURE_SKEW = 5  # seconds a proof's iat may lie in the future (clock skew)


@dataclass(frozen=True, slots=True)
class DPoPProof:
    jkt: str  # RFC 7638 thumbprint of the proof's key
    jti: str


class DPoPError(OAuthError):
    """A refused proof; ``nonce`` is the nonce to send back (``DPoP-Nonce``)."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(error, description, status=status)
        self.nonce = current_nonce()


_nonces: dict[int, tuple[bytes, str]] = {}  # window -> (key, nonce): one HMAC per window, not two per request


def _nonce_for(window: int) -> str:
    key = derived_key("dpop-nonce")
    cached = _nonces.get(window)
    if cached is not None and cached[0] == key:
        return cached[1]
    packed = struct.pack(">Q", window)
    mac = hmac.new(key, packed, hashlib.sha256).digest()[:NONCE_MAC_SIZE]
    nonce = b64url(packed + mac)
    if len(_nonces) > 4:
        _nonces.clear()
    _nonces[window] = (key, nonce)
    return nonce


def current_nonce(now: float | None = None) -> str:
    return _nonce_for(int((time.time() if now is None else now) // config.DPOP_NONCE_WINDOW))


def nonce_is_fresh(nonce: Any, now: float | None = None) -> bool:
    if not isinstance(nonce, str) or len(nonce) > 64:
        return False
    try:
        raw = b64url_decode(nonce)
    except ValueError:
        return False
    if len(raw) != 8 + NONCE_MAC_SIZE:
        return False
    (window,) = struct.unpack(">Q", raw[:8])
    current = int((time.time() if now is None else now) // config.DPOP_NONCE_WINDOW)
    return window in (current, current - 1) and hmac.compare_digest(_nonce_for(window), nonce)


def normalize_htu(uri: str) -> str:
    """RFC 9449 §4.3 item 9, with RFC 3986 §6.2.2/§6.2.3 normalization: scheme and host lowercased, default port
    dropped, query and fragment ignored."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url SHA-256 of the ASCII access token (RFC 9449 §4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def verify_proof(
    proof: str | None,
    *,
    method: str,
    uri: str,
    access_token: str | None = None,
    require_nonce: bool | None = None,
    status: int = 400,
    now: float | None = None,
    deferred: list[replay.Pending] | None = None,
) -> DPoPProof:
    """Check one DPoP proof (RFC 9449 §4.3) and record its jti; raise ``DPoPError`` naming what failed.

    With ``deferred``, the jti is appended to it instead of recorded; the caller records it (``replay.record``) and
    refuses with ``replayed()`` when it was not new."""
    now = time.time() if now is None else now
    if not proof or "," in proof:
        raise DPoPError(INVALID_DPOP_PROOF, "exactly one DPoP header is required", status=status)
    try:
        header_token = proof.strip()

        header = unverified_header(header_token)
        if header.get("typ") != TYP:
            raise DPoPError(INVALID_DPOP_PROOF, "typ must be dpop+jwt", status=status)
        key, jkt = import_proof_jwk(header.get("jwk"))
        _, claims = verify(header_token, key)
    except InvalidJws as e:
        raise DPoPError(INVALID_DPOP_PROOF, str(e), status=status) from None
    jti, htm, htu, iat = claims.get("jti"), claims.get("htm"), claims.get("htu"), claims.get("iat")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
        raise DPoPError(INVALID_DPOP_PROOF, "jti is missing or malformed", status=status)
    if htm != method:
        raise DPoPError(INVALID_DPOP_PROOF, "htm does not match the request method", status=status)
    if not isinstance(htu, str) or normalize_htu(htu) != normalize_htu(uri):
        raise DPoPError(INVALID_DPOP_PROOF, "htu does not match the request URI", status=status)
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise DPoPError(INVALID_DPOP_PROOF, "iat is missing", status=status)
    if iat > now + FUTURE_SKEW or iat < now - config.DPOP_IAT_WINDOW:
        raise DPoPError(INVALID_DPOP_PROOF, "iat is outside the accepted window", status=status)
    if access_token is not None and (
        not isinstance(claims.get("ath"), str)
        or not hmac.compare_digest(claims["ath"], access_token_hash(access_token))
    ):
        raise DPoPError(INVALID_DPOP_PROOF, "ath does not match the access token", status=status)
    if require_nonce is None:
        require_nonce = config.dpop_nonce_required()
    if "nonce" in claims or require_nonce:
        if "nonce" not in claims:
            raise DPoPError(USE_DPOP_NONCE, "a server-provided DPoP nonce is required", status=status)
        if not nonce_is_fresh(claims["nonce"], now):
            raise DPoPError(USE_DPOP_NONCE, "the DPoP nonce is unknown or expired", status=status)
    # From the proof itself, so that a replay computes the same expiry (replay's time buckets): refused anyway once
    # iat is more than the window old.
    expires = datetime.fromtimestamp(int(iat) + config.DPOP_IAT_WINDOW + 1, tz=UTC)
    entry = replay.pending("dpop", jkt, jti, expires)
    if deferred is not None:
        deferred.append(entry)
    elif entry.key not in replay.record([entry]):
        raise replayed(status)
    return DPoPProof(jkt=jkt, jti=jti)


def replayed(status: int = 400) -> DPoPError:
    return DPoPError(INVALID_DPOP_PROOF, "this DPoP proof was used before (jti replay)", status=status)
