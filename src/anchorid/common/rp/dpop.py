"""DPoP proofs on the client side (RFC 9449, OAuth 2.0 Demonstrating Proof of Possession).

Authlib's client (1.9) speaks neither DPoP nor PAR, so this is the smallest piece around it: a proof maker and a
``requests`` session that signs every request to a DPoP-protected endpoint and follows the server's nonce.

- §4.2: a proof is a JWT with ``typ: dpop+jwt``, an asymmetric ``alg`` and the public ``jwk`` in its header; claims
  ``jti`` (unique), ``htm`` (the HTTP method), ``htu`` (the target URI without query and fragment), ``iat``, and
  ``ath`` (base64url SHA-256 of the access token) when it goes with one; ``nonce`` when the server provided one.
- §7.1: a DPoP-bound access token is sent as ``Authorization: DPoP <token>``.
- §8 and §9: a server may demand a nonce (``use_dpop_nonce`` error, ``DPoP-Nonce`` header); the client retries
  once with it and keeps using the latest nonce per server origin.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from anchorid.common import untrusted_json

DPOP_HEADER = "DPoP"
DPOP_NONCE_HEADER = "DPoP-Nonce"
DPOP_PROOF_TYPE = "dpop+jwt"
DPOP_TOKEN_TYPE = "DPoP"  # noqa: S105 (a token type, not a secret)
USE_DPOP_NONCE = "use_dpop_nonce"
PROOF_ALGORITHM = "ES256"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(access_token: str) -> str:
    """``ath`` (§4.2): base64url of the SHA-256 of the ASCII access token."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def target_uri(url: str) -> str:
    """``htu`` (§4.2): the HTTP target URI without query and fragment parts."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class DPoPKey:
    """One ES256 key that proves possession; the nonces each server gave us, by origin."""

    def __init__(self, key: ECKey) -> None:
        self.key = key
        self.public_jwk = key.as_dict(private=False)
        self.nonces: dict[str, str] = {}

    @property
    def thumbprint(self) -> str:
        """The JWK SHA-256 thumbprint (RFC 7638) an authorization server binds tokens to (``cnf.jkt``)."""
        return self.key.thumbprint()

    def proof(self, method: str, url: str, *, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(24),
            "htm": method.upper(),
            "htu": target_uri(url),
            "iat": int(time.time()),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        nonce = self.nonces.get(origin_of(url))
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": DPOP_PROOF_TYPE, "alg": PROOF_ALGORITHM, "jwk": self.public_jwk}
        return jwt.encode(header, claims, self.key, algorithms=[PROOF_ALGORITHM])

    def remember_nonce(self, response: requests.Response) -> bool:
        """Keep the server's latest nonce; True when it is new (a retry can then succeed)."""
        nonce = response.headers.get(DPOP_NONCE_HEADER)
        if not nonce:
            return False
        origin = origin_of(response.url or "")
        changed = self.nonces.get(origin) != nonce
        self.nonces[origin] = nonce
        return changed


def asks_for_nonce(response: requests.Response) -> bool:
    """§8.1 (authorization server: 400 ``use_dpop_nonce``) and §9 (resource server: 401 with the error in
    ``WWW-Authenticate``)."""
    if response.status_code == 401:
        return USE_DPOP_NONCE in response.headers.get("WWW-Authenticate", "")
    if response.status_code == 400:
        try:
            body = untrusted_json.loads(response.content)
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("error") == USE_DPOP_NONCE
    return False


def bound_access_token(request: requests.PreparedRequest) -> str | None:
    """The access token of an ``Authorization: DPoP <token>`` header, if the request carries one."""
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token if scheme == DPOP_TOKEN_TYPE and token else None
