"""Verifying a Security Event Token (RFC 8417) as profiled by SSF 1.0, before anything is recorded or applied.

The checks, in order, each with its RFC 8935 error code:

1. the body is a compact JWS of three base64url parts, not too large, with a JSON object header — else
   ``invalid_request``; ``typ`` is ``secevent+jwt`` (RFC 8417 §2.3 explicit typing, so an ID token, logout token
   or access token is never taken for a SET) — else ``invalid_request``; no ``crit`` extensions we do not know;
2. the SET is signed: ``alg: none`` or an empty signature is refused (``invalid_request``: an unsigned token is not
   an SSF SET); the algorithm is ES256 and nothing else (no HS*, whose "key" would be the public key, no RSA) —
   else ``invalid_key``; the header names a ``kid`` the transmitter publishes (one JWKS refetch when unknown) and
   the signature verifies with it — else ``invalid_key``;
3. the payload is a JSON object; ``iss`` is the transmitter's issuer — else ``invalid_issuer``; ``aud`` (a string
   or a list) contains our client_id — else ``invalid_audience``;
4. ``iat`` is an integer no later than now (plus leeway) and not older than the receiver's maximum age; an ``exp``
   (SSF SETs carry none) must not have passed; ``jti`` is a non-empty string; ``txn`` a string when present;
   ``sub_id`` an object with a ``format`` when present, and for ``iss_sub`` the transmitter's issuer and a ``sub``;
   ``events`` holds exactly one event (SSF 1.0: one event per SET), an object under a URI — else
   ``invalid_request``.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from anchorid.common import untrusted_json
from anchorid.ssf_receiver.errors import INVALID_AUDIENCE, INVALID_ISSUER, INVALID_KEY, INVALID_REQUEST, SetError

SET_TYP = "secevent+jwt"
ALGORITHM = "ES256"
MAX_SET_BYTES = 64 * 1024
#: Seconds a SET's ``iat`` may lie in the future (clock skew between transmitter and receiver).
DEFAULT_LEEWAY = 60
#: The oldest SET taken: a week, longer than the transmitter keeps retrying (its dead-letter age, three days by
#: default), so a receiver that was down still gets every SET it is sent.
DEFAULT_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True)
class ReceiverConfig:
    """Who a receiver is and whom it trusts."""

    #: The receiver's name in this server (one server may hold several receivers: the sample providers).
    name: str
    #: The transmitter's issuer: every SET must carry it as ``iss``.
    issuer: str
    #: Our client_id at the idp, the stream's audience.
    audience: str
    #: SHA-256 (hex) of the bearer token the transmitter presents with each push; empty: none required.
    push_token_sha256: str = ""
    max_age: int = DEFAULT_MAX_AGE
    leeway: int = DEFAULT_LEEWAY


@dataclass(frozen=True)
class SecurityEvent:
    """A verified SET: its envelope and its one event."""

    token: str
    issuer: str
    jti: str
    iat: int
    txn: str
    sub_id: dict[str, Any] | None
    event_type: str
    event: dict[str, Any]

    @property
    def sub(self) -> str:
        """The subject's ``sub`` at this receiver (``iss_sub`` subject identifiers), or "" when there is none."""
        if self.sub_id and self.sub_id.get("format") == "iss_sub":
            return str(self.sub_id.get("sub", ""))
        return ""


KeyLookup = Callable[[str], ECKey | None]


def _b64decode(part: str) -> bytes:
    if not part or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in part):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = untrusted_json.loads(_b64decode(part))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SetError(INVALID_REQUEST, f"the {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise SetError(INVALID_REQUEST, f"the {what} is not a JSON object")
    return value


def parse_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, after the shape checks (step 1 and the unsigned case of step 2)."""
    if len(token) > MAX_SET_BYTES:
        raise SetError(INVALID_REQUEST, "the SET is too large")
    parts = token.split(".")
    if len(parts) != 3:
        raise SetError(INVALID_REQUEST, "a SET is a compact JWS: three base64url parts")
    header = _json_object(parts[0], "JOSE header")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != SET_TYP:
        raise SetError(INVALID_REQUEST, "typ must be secevent+jwt")
    if "crit" in header:
        raise SetError(INVALID_REQUEST, "crit header parameters are not supported")
    alg = header.get("alg")
    if alg == "none" or not parts[2]:
        raise SetError(INVALID_REQUEST, "unsigned SETs are refused")
    if alg != ALGORITHM:
        raise SetError(INVALID_KEY, f"only {ALGORITHM} signatures are accepted")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise SetError(INVALID_KEY, "the SET names no kid")
    return header


def verify_set(token: str, config: ReceiverConfig, key_for: KeyLookup, *, now: float | None = None) -> SecurityEvent:
    """Verify ``token`` for ``config``; raises ``SetError`` (RFC 8935 code) or ``TransmitterUnavailable``."""
    if not isinstance(token, str) or not token.isascii():
        raise SetError(INVALID_REQUEST, "a SET is ASCII text")
    token = token.strip()
    header = parse_header(token)
    key = key_for(header["kid"])
    if key is None:
        raise SetError(INVALID_KEY, "the SET is signed with a key the transmitter does not publish")
    try:
        verified = jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        raise SetError(INVALID_KEY, "the signature does not verify") from None
    try:
        claims = untrusted_json.loads(verified.payload)
    except (ValueError, UnicodeDecodeError):
        raise SetError(INVALID_REQUEST, "the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise SetError(INVALID_REQUEST, "the payload is not a JSON object")
    return check_claims(token, claims, config, now=time.time() if now is None else now)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_claims(token: str, claims: dict[str, Any], config: ReceiverConfig, *, now: float) -> SecurityEvent:
    """Steps 3 and 4 on a verified payload."""
    if claims.get("iss") != config.issuer:
        raise SetError(INVALID_ISSUER, "the SET comes from another issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if config.audience not in audiences:
        raise SetError(INVALID_AUDIENCE, "the SET is not addressed to this receiver")
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise SetError(INVALID_REQUEST, "iat must be an integer")
    if iat > now + config.leeway:
        raise SetError(INVALID_REQUEST, "iat is in the future")
    if iat < now - config.max_age:
        raise SetError(INVALID_REQUEST, "the SET is older than this receiver accepts")
    if "exp" in claims and (not _is_int(claims["exp"]) or claims["exp"] < now - config.leeway):
        raise SetError(INVALID_REQUEST, "the SET has expired")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255 or not jti.isprintable():
        raise SetError(INVALID_REQUEST, "jti must be a non-empty string")
    txn = claims.get("txn", "")
    if not isinstance(txn, str) or len(txn) > 255:
        raise SetError(INVALID_REQUEST, "txn must be a string")
    sub_id = claims.get("sub_id")
    if sub_id is not None:
        if not isinstance(sub_id, dict) or not isinstance(sub_id.get("format"), str):
            raise SetError(INVALID_REQUEST, "sub_id must be a subject identifier with a format")
        if sub_id["format"] == "iss_sub" and (
            sub_id.get("iss") != config.issuer or not isinstance(sub_id.get("sub"), str) or not sub_id["sub"]
        ):
            raise SetError(INVALID_REQUEST, "an iss_sub subject needs this issuer and a sub")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise SetError(INVALID_REQUEST, "events must hold exactly one event")
    ((event_type, event),) = events.items()
    if not isinstance(event_type, str) or ":" not in event_type or not isinstance(event, dict):
        raise SetError(INVALID_REQUEST, "an event is an object under its type URI")
    return SecurityEvent(
        token=token, issuer=config.issuer, jti=jti, iat=iat, txn=txn, sub_id=sub_id, event_type=event_type,
        event=event,
    )  # fmt: skip
