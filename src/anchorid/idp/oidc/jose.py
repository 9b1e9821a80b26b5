"""Compact JWS for the OpenID Provider: signing through the KeyStore, verifying with joserfc.

Signing is assembled here because the private keys never leave the KeyStore (joserfc would want the key object):
``header.payload`` is signed by ``KeyStore.sign`` and, for ES256, the DER ``Ecdsa-Sig-Value`` is converted to
JOSE's fixed-length ``r || s`` (RFC 7518 §3.4). Verification is joserfc's, restricted to asymmetric algorithms:
``alg: none`` and HMAC algorithms are refused everywhere (FAPI 2.0 §5.4).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from anchorid.common import untrusted_json
from anchorid.idp.keystore import KeyStore

ACCEPTED_ALGORITHMS = ("ES256", "PS256")
# Tokens this provider signed itself: also RS256, the ID tokens of simple-profile clients registered for it
# (OIDC Discovery §3; never FAPI clients, docs/protocols/openid-connect.md). Never accepted from clients.
OWN_TOKEN_ALGORITHMS = (*ACCEPTED_ALGORITHMS, "RS256")
ES256_COORDINATE = 32


class InvalidJws(ValueError):
    """The token is not a well-formed compact JWS with an accepted algorithm and a valid signature."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(store: KeyStore, key_name: str, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A compact JWS over ``payload`` signed by the stored key ``key_name`` (``header['alg']``: ES256 or PS256)."""
    alg = header["alg"]
    signing_input = b64url(_json(header)) + "." + b64url(_json(payload))
    signature = store.sign(key_name, signing_input.encode("ascii"), alg)
    if alg == "ES256":
        r, s = decode_dss_signature(signature)
        signature = r.to_bytes(ES256_COORDINATE, "big") + s.to_bytes(ES256_COORDINATE, "big")
    return signing_input + "." + b64url(signature)


def unverified_header(token: str, algorithms: tuple[str, ...] = ACCEPTED_ALGORITHMS) -> dict[str, Any]:
    """The protected header, parsed but not trusted; refuses anything but an accepted asymmetric algorithm."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidJws("not a compact JWS")
    try:
        header = untrusted_json.loads(b64url_decode(token.split(".", 1)[0]))
    except ValueError:
        raise InvalidJws("malformed JWS header") from None
    if not isinstance(header, dict):
        raise InvalidJws("malformed JWS header")
    if header.get("alg") not in algorithms:
        raise InvalidJws(f"alg must be one of {', '.join(algorithms)}")
    if "crit" in header:
        raise InvalidJws("no critical header extensions are understood")
    return header


def _candidates(header: dict[str, Any], key: ECKey | RSAKey | KeySet) -> list[ECKey | RSAKey]:
    wanted = "EC" if header["alg"] == "ES256" else "RSA"
    keys = list(key.keys) if isinstance(key, KeySet) else [key]
    kid = header.get("kid")
    chosen = [k for k in keys if k.key_type == wanted and (kid is None or k.kid == kid)]
    return [k for k in chosen if isinstance(k, ECKey | RSAKey)]


def verify(
    token: str, key: ECKey | RSAKey | KeySet, algorithms: tuple[str, ...] = ACCEPTED_ALGORITHMS
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify ``token`` with ``key`` (or a key set: the key named by ``kid``, else each of the right type);
    return (header, claims)."""
    header = unverified_header(token, algorithms)
    signature = None
    for candidate in _candidates(header, key):
        try:
            signature = jws.deserialize_compact(token, candidate, algorithms=[header["alg"]])
            break
        except (JoseError, ValueError, TypeError, KeyError):
            continue
    if signature is None:
        raise InvalidJws("signature check failed")
    try:
        claims = untrusted_json.loads(signature.payload)
    except ValueError:
        raise InvalidJws("the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidJws("the payload is not a JSON object")
    return header, claims


def import_public_jwk(jwk: Any) -> ECKey | RSAKey:
    """A public EC (P-256) or RSA (>= 2048 bits) key from a JWK; refuses private keys and anything else."""
    if not isinstance(jwk, dict):
        raise InvalidJws("jwk must be a JSON object")
    if any(member in jwk for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise InvalidJws("jwk must be a public key")
    try:
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            return ECKey.import_key(jwk)
        if jwk.get("kty") == "RSA":
            key = RSAKey.import_key(jwk)
            if key.raw_value.key_size < 2048:
                raise InvalidJws("RSA keys must have at least 2048 bits")
            return key
    except (JoseError, ValueError, TypeError) as e:
        raise InvalidJws(f"malformed jwk ({type(e).__name__})") from None
    raise InvalidJws("jwk must be an EC P-256 or RSA key")


def import_key_set(document: Any) -> KeySet:
    """A JWK Set of public keys (the client's ``jwks``)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InvalidJws("a JWK Set is an object with a 'keys' list")
    keys = [import_public_jwk(jwk) for jwk in document["keys"]]
    return KeySet(keys)  # type: ignore[arg-type]
