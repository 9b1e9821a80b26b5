"""Compact JWS for the OpenID Provider: signing through the KeyStore, verifying with joserfc.

Signing is assembled here because the private keys never leave the KeyStore (joserfc would want the key object):
``header.payload`` is signed by ``KeyStore.sign`` and, for ES256, the DER ``Ecdsa-Sig-Value`` is converted to
JOSE's fixed-length ``r || s`` (RFC 7518 §3.4). Verification is restricted to asymmetric algorithms: ``alg: none``
and HMAC algorithms are refused everywhere (FAPI 2.0 §5.4).

ES256 tokens whose header holds only ``alg``, ``typ``, ``kid`` (strings) and ``jwk`` (an object) — every client
assertion, DPoP proof and token of this provider — are verified here with ``cryptography`` directly, under joserfc's
own size limits (``_fast_es256``): joserfc's general parsing, header registry and key wrapping were most of a
userinfo request's proof check (docs/performance.md). Anything else (PS256, RS256, other header members) goes
through joserfc as before. Public keys imported from a DPoP proof's ``jwk`` are kept per process (``_JWK_CACHE``,
bounded), with their RFC 7638 thumbprint.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.util import urlsafe_b64decode as strict_b64url_decode

from anchorid.common import untrusted_json
from anchorid.idp.keystore import KeyStore

ACCEPTED_ALGORITHMS = ("ES256", "PS256")
# Tokens this provider signed itself: also RS256, the ID tokens of simple-profile clients registered for it
# (OIDC Discovery §3; never FAPI clients, docs/protocols/openid-connect.md). Never accepted from clients.
OWN_TOKEN_ALGORITHMS = (*ACCEPTED_ALGORITHMS, "RS256")
ES256_COORDINATE = 32
# joserfc's JWSRegistry limits (max_header_length, max_payload_length, max_signature_length), kept on the fast path.
MAX_HEADER_SEGMENT, MAX_PAYLOAD_SEGMENT, MAX_SIGNATURE_SEGMENT = 512, 128000, 1024
_PLAIN_HEADER = {"alg": str, "typ": str, "kid": str, "jwk": dict}
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
JWK_CACHE_SIZE = 4096


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


def _plain(header: dict[str, Any]) -> bool:
    """Only members the fast path knows, each of the type joserfc's header registry requires."""
    return all(isinstance(value, _PLAIN_HEADER.get(name, ())) for name, value in header.items())


def _ec_p256(key: ECKey | RSAKey) -> ec.EllipticCurvePublicKey | None:
    raw = key.raw_value
    if isinstance(raw, ec.EllipticCurvePrivateKey):
        raw = raw.public_key()
    if isinstance(raw, ec.EllipticCurvePublicKey) and isinstance(raw.curve, ec.SECP256R1):
        return raw
    return None


def _fast_es256(token: str, candidates: list[ECKey | RSAKey]) -> bytes | None:
    """The payload of an ES256 compact JWS verified by one of ``candidates``, or None (refused as joserfc would)."""
    head, payload, signature = token.split(".")
    if len(head) > MAX_HEADER_SEGMENT or len(payload) > MAX_PAYLOAD_SEGMENT or len(signature) > MAX_SIGNATURE_SEGMENT:
        return None
    try:  # joserfc's strict base64url (no padding, no stray characters, canonical last character), all three
        strict_b64url_decode(head.encode("ascii"))
        raw = strict_b64url_decode(signature.encode("ascii"))
        body = strict_b64url_decode(payload.encode("ascii"))
    except (ValueError, binascii.Error):
        return None
    if len(raw) != 2 * ES256_COORDINATE:
        return None
    r, s = int.from_bytes(raw[:ES256_COORDINATE], "big"), int.from_bytes(raw[ES256_COORDINATE:], "big")
    der = encode_dss_signature(r, s)
    signing_input = f"{head}.{payload}".encode("ascii")
    for candidate in candidates:
        public = _ec_p256(candidate)
        if public is None:
            continue
        try:
            public.verify(der, signing_input, _ECDSA_SHA256)
        except InvalidSignature:
            continue
        return body
    return None


def verify(
    token: str, key: ECKey | RSAKey | KeySet, algorithms: tuple[str, ...] = ACCEPTED_ALGORITHMS
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify ``token`` with ``key`` (or a key set: the key named by ``kid``, else each of the right type);
    return (header, claims)."""
    header = unverified_header(token, algorithms)
    payload: bytes | None = None
    if header["alg"] == "ES256" and _plain(header) and token.isascii():
        payload = _fast_es256(token, _candidates(header, key))
    else:
        for candidate in _candidates(header, key):
            try:
                payload = jws.deserialize_compact(token, candidate, algorithms=[header["alg"]]).payload
                break
            except (JoseError, ValueError, TypeError, KeyError):
                continue
    if payload is None:
        raise InvalidJws("signature check failed")
    try:
        claims = untrusted_json.loads(payload)
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


_JWK_CACHE: dict[tuple[tuple[str, str], ...], tuple[ECKey | RSAKey, str]] = {}
_jwk_lock = threading.Lock()


def import_proof_jwk(jwk: Any) -> tuple[ECKey | RSAKey, str]:
    """``import_public_jwk`` and the key's RFC 7638 thumbprint, kept per process for JWKs of string members (a
    client sends the same DPoP key with every proof); the same refusals."""
    if not isinstance(jwk, dict) or not all(isinstance(value, str) for value in jwk.values()):
        key = import_public_jwk(jwk)
        return key, key.thumbprint()
    name = tuple(sorted(jwk.items()))
    cached = _JWK_CACHE.get(name)
    if cached is not None:
        return cached
    key = import_public_jwk(jwk)
    entry = (key, key.thumbprint())
    with _jwk_lock:
        if len(_JWK_CACHE) >= JWK_CACHE_SIZE:
            _JWK_CACHE.clear()
        _JWK_CACHE[name] = entry
    return entry


def import_key_set(document: Any) -> KeySet:
    """A JWK Set of public keys (the client's ``jwks``)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InvalidJws("a JWK Set is an object with a 'keys' list")
    keys = [import_public_jwk(jwk) for jwk in document["keys"]]
    return KeySet(keys)  # type: ignore[arg-type]
