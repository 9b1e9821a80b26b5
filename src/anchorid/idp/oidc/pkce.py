"""Proof Key for Code Exchange (RFC 7636), S256 only.

RFC 7636 §4.2: ``code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))``. FAPI 2.0 Security Profile
§5.3.2.2: the authorization server "shall require ... PKCE with S256 as the code challenge method", so ``plain``
and a missing method are refused. §4.1: a verifier is 43-128 characters of ``[A-Z] / [a-z] / [0-9] / "-" / "." /
"_" / "~"``; §4.6: the server recomputes the challenge and compares.
"""

from __future__ import annotations

import hmac
import re

from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from anchorid.idp.oidc.errors import INVALID_GRANT, INVALID_REQUEST, OAuthError

S256 = "S256"
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")  # a base64url SHA-256 without padding


def check_challenge(challenge: str | None, method: str | None) -> str:
    """At the authorization (or PAR) endpoint: a well-formed S256 challenge is required."""
    if not challenge:
        raise OAuthError(INVALID_REQUEST, "code_challenge is required (PKCE)")
    if method != S256:
        raise OAuthError(INVALID_REQUEST, "code_challenge_method must be S256")
    if not CHALLENGE.fullmatch(challenge):
        raise OAuthError(INVALID_REQUEST, "code_challenge is not a base64url SHA-256 value")
    return challenge


def check_verifier(verifier: str | None, challenge: str) -> None:
    """At the token endpoint: the verifier must hash to the stored challenge (RFC 7636 §4.6)."""
    if not verifier or not VERIFIER.fullmatch(verifier):
        raise OAuthError(INVALID_GRANT, "code_verifier is missing or malformed")
    if not hmac.compare_digest(create_s256_code_challenge(verifier), challenge):
        raise OAuthError(INVALID_GRANT, "code_verifier does not match the code_challenge")
