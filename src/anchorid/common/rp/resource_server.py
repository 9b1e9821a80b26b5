"""A service's check of an exchanged access token (docs/protocols/token-exchange.md §6).

Another service A calls this service B's API for a resident with a token the idp issued under the resident's link
consent (RFC 8693). ``ResourceServer.verify`` checks, in order, and raises ``TokenRefused`` at the first failure:

1. ``Authorization: DPoP <token>`` (RFC 9449 §7.1; a Bearer token is refused) and exactly one ``DPoP`` header;
2. the token: a JWS signed by the idp (its JWKS, cached, fetched again once for an unknown key), ``typ: at+jwt``
   (RFC 9068 §2.1), ``iss`` = the idp, ``aud`` = this service's client_id, ``exp`` in the future;
3. the proof (RFC 9449 §4.3): ``typ: dpop+jwt``, an asymmetric ``alg``, a public ``jwk`` whose signature holds,
   ``htm`` = the method, ``htu`` = this request's URL (query and fragment ignored), ``iat`` within 60 s (5 s ahead
   for clock skew), ``ath`` = the token's hash, the key's RFC 7638 thumbprint = the token's ``cnf.jkt``, and a
   ``jti`` not seen before (kept in the ``shared`` cache when Redis is configured, else the ``default`` cache,
   for as long as the proof could be accepted);
4. liveness: RFC 7662 introspection at the idp, authenticated with this service's private_key_jwt: the idp says
   ``active: false`` as soon as the resident withdraws the link, the source's grant is revoked or the account
   stops, and gives this service its own pairwise ``sub`` for the resident (the token carries none);
5. the required scopes (403 ``insufficient_scope``, RFC 6750 §3.1).

Errors are 401 with ``WWW-Authenticate: DPoP error="…"`` (``invalid_token``, ``invalid_dpop_proof``), 403
``insufficient_scope``, or 503 ``temporarily_unavailable`` when the idp cannot answer (never "active" on doubt).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.core.cache import caches
from django.http import HttpRequest, JsonResponse
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from anchorid.common import untrusted_json
from anchorid.common.rp.client import AnchorIDClient, LoginError
from anchorid.common.rp.dpop import DPOP_PROOF_TYPE, DPOP_TOKEN_TYPE, access_token_hash
from anchorid.common.shared_cache import SHARED

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type)
PROOF_ALGORITHMS = ("ES256", "PS256")
PROOF_MAX_AGE = 60
PROOF_FUTURE_SKEW = 5
INTROSPECTION_TIMEOUT = 5

INVALID_TOKEN = "invalid_token"  # noqa: S105 (an error code)
INVALID_DPOP_PROOF = "invalid_dpop_proof"
INSUFFICIENT_SCOPE = "insufficient_scope"
UNAVAILABLE = "temporarily_unavailable"


class TokenRefused(Exception):
    """Why the request is refused; ``response()`` is the answer to send."""

    def __init__(self, error: str, description: str, *, status: int = 401) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.error, "error_description": self.description}, status=self.status)
        response["Cache-Control"] = "no-store"
        if self.status in (401, 403):
            algs = " ".join(PROOF_ALGORITHMS)
            response["WWW-Authenticate"] = (
                f'{DPOP_TOKEN_TYPE} error="{self.error}", error_description="{self.description}", algs="{algs}"'
            )
        return response


@dataclass(frozen=True)
class VerifiedToken:
    """What this service may rely on: whom (its own pairwise ``sub``), who asks, what for, under which link."""

    subject: str
    actor: str  # the client that holds and presented the token (act.sub)
    actors: tuple[str, ...]  # the whole delegation chain, outermost first
    scopes: frozenset[str]
    authorization_details: list[dict[str, Any]]
    link_id: str
    token_id: str
    expires_at: int
    claims: dict[str, Any] = field(repr=False, default_factory=dict)


def normalize_url(url: str) -> str:
    """RFC 9449 §4.3 item 9 with RFC 3986 §6.2.2-§6.2.3: scheme and host lowercased, default port dropped, query and
    fragment ignored."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port is not None and (scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def _actors(act: Any) -> tuple[str, ...]:
    found: list[str] = []
    while isinstance(act, dict) and isinstance(act.get("sub"), str) and len(found) < 8:
        found.append(act["sub"])
        act = act.get("act")
    return tuple(found)


class ResourceServer:
    """The API side of one service (its ``AnchorIDClient``: issuer, own client_id, keys)."""

    def __init__(self, client: AnchorIDClient, *, replay_cache: str | None = None) -> None:
        self.client = client
        self.replay_cache = replay_cache

    # --- the steps ---------------------------------------------------------------------------------------------

    def verify(self, request: HttpRequest, scopes: Iterable[str] = (), *, url: str | None = None) -> VerifiedToken:
        """``url``: the URL the caller addressed, when this process cannot rebuild it (behind a TLS-terminating
        proxy without ``SECURE_PROXY_SSL_HEADER``); by default ``request.build_absolute_uri()``."""
        token = self._token(request)
        claims = self._claims(token)
        self._check_proof(request, token, claims, url or request.build_absolute_uri())
        answer = self._introspect(token, claims)
        granted = frozenset(str(answer.get("scope", "")).split())
        missing = set(scopes) - granted
        if missing:
            raise TokenRefused(INSUFFICIENT_SCOPE, "the link does not cover this request", status=403)
        actors = _actors(answer.get("act"))
        details = answer.get("authorization_details") or []
        return VerifiedToken(
            subject=str(answer["sub"]),
            actor=actors[0] if actors else str(answer.get("client_id", "")),
            actors=actors,
            scopes=granted,
            authorization_details=details if isinstance(details, list) else [],
            link_id=str(answer.get("lnk", "")),
            token_id=str(answer.get("jti", "")),
            expires_at=int(answer.get("exp", claims["exp"])),
            claims=claims,
        )

    def _token(self, request: HttpRequest) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not scheme:
            raise TokenRefused(INVALID_TOKEN, "an access token is required")
        if scheme != DPOP_TOKEN_TYPE:
            raise TokenRefused(INVALID_TOKEN, "send the token with the DPoP scheme (RFC 9449 §7.1)")
        token = token.strip()
        if not token or token.count(".") != 2 or len(token) > 8192:
            raise TokenRefused(INVALID_TOKEN, "the access token is malformed")
        return token

    def _claims(self, token: str) -> dict[str, Any]:
        config = self.client.config
        try:
            decoded = self.client.verify_idp_jwt(token)
        except (JoseError, ValueError):
            raise TokenRefused(INVALID_TOKEN, "the access token's signature does not verify") from None
        except LoginError as error:  # the idp's JWKS could not be fetched
            raise TokenRefused(UNAVAILABLE, "the identity provider cannot be reached", status=503) from error
        claims = dict(decoded.claims)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        exp = claims.get("exp")
        if decoded.header.get("typ") != ACCESS_TOKEN_TYP or claims.get("iss") != config.issuer:
            raise TokenRefused(INVALID_TOKEN, "not an access token of the identity provider")
        if config.client_id not in audiences:
            raise TokenRefused(INVALID_TOKEN, "the access token is for another service")
        if not isinstance(exp, int) or exp <= time.time():
            raise TokenRefused(INVALID_TOKEN, "the access token has expired")
        cnf = claims.get("cnf")
        if not isinstance(cnf, dict) or not isinstance(cnf.get("jkt"), str):
            raise TokenRefused(INVALID_TOKEN, "the access token is not DPoP-bound")
        return claims

    def _check_proof(self, request: HttpRequest, token: str, claims: dict[str, Any], url: str) -> None:
        values = request.META.get("HTTP_DPOP")
        if not values or "," in values:
            raise TokenRefused(INVALID_DPOP_PROOF, "exactly one DPoP proof is required")
        proof = values.strip()
        try:
            header = untrusted_json.compact_jose_header(proof)
            jwk = header.get("jwk")
            if header.get("typ") != DPOP_PROOF_TYPE or header.get("alg") not in PROOF_ALGORITHMS:
                raise ValueError("typ or alg")
            if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") not in ("EC", "RSA"):
                raise ValueError("jwk")
            key = ECKey.import_key(jwk) if jwk["kty"] == "EC" else RSAKey.import_key(jwk)
            payload = untrusted_json.loads(jws.deserialize_compact(proof, key, algorithms=[header["alg"]]).payload)
        except (JoseError, ValueError, TypeError, KeyError):
            raise TokenRefused(INVALID_DPOP_PROOF, "the DPoP proof is malformed or its signature fails") from None
        if not isinstance(payload, dict):
            raise TokenRefused(INVALID_DPOP_PROOF, "the DPoP proof is malformed")
        now = time.time()
        jti, iat, ath = payload.get("jti"), payload.get("iat"), payload.get("ath")
        if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
            raise TokenRefused(INVALID_DPOP_PROOF, "jti is missing or malformed")
        if payload.get("htm") != request.method:
            raise TokenRefused(INVALID_DPOP_PROOF, "htm does not match the request method")
        htu = payload.get("htu")
        if not isinstance(htu, str) or normalize_url(htu) != normalize_url(url):
            raise TokenRefused(INVALID_DPOP_PROOF, "htu does not match the request URL")
        if (
            not isinstance(iat, int | float)
            or isinstance(iat, bool)
            or not (now - PROOF_MAX_AGE <= iat <= now + PROOF_FUTURE_SKEW)
        ):
            raise TokenRefused(INVALID_DPOP_PROOF, "iat is missing or outside the accepted window")
        if not isinstance(ath, str) or not hmac.compare_digest(ath, access_token_hash(token)):
            raise TokenRefused(INVALID_DPOP_PROOF, "ath does not match the access token")
        thumbprint = key.thumbprint()
        if not hmac.compare_digest(thumbprint, claims["cnf"]["jkt"]):
            raise TokenRefused(INVALID_DPOP_PROOF, "the proof's key is not the one the token is bound to")
        self._first_use(thumbprint, jti)

    def _first_use(self, thumbprint: str, jti: str) -> None:
        alias = self.replay_cache
        if alias is None:
            from django.conf import settings

            alias = SHARED if SHARED in settings.CACHES else "default"
        key = "dpop-jti:" + hashlib.sha256(f"{thumbprint}\x00{jti}".encode()).hexdigest()
        if not caches[alias].add(key, 1, timeout=PROOF_MAX_AGE + PROOF_FUTURE_SKEW + 5):
            raise TokenRefused(INVALID_DPOP_PROOF, "this DPoP proof was used before")

    def _introspect(self, token: str, claims: dict[str, Any]) -> dict[str, Any]:
        try:
            endpoint = self.client.metadata["introspection_endpoint"]
            response = self.client.oauth_session().introspect_token(
                endpoint, token=token, timeout=INTROSPECTION_TIMEOUT
            )
        except (requests.RequestException, KeyError, LoginError) as error:
            raise TokenRefused(UNAVAILABLE, "the identity provider cannot be reached", status=503) from error
        if response.status_code != 200:
            raise TokenRefused(UNAVAILABLE, "the identity provider refused the introspection", status=503)
        try:
            answer = untrusted_json.loads(response.content)
        except ValueError:
            raise TokenRefused(UNAVAILABLE, "the identity provider answered nonsense", status=503) from None
        if not isinstance(answer, dict) or answer.get("active") is not True:
            raise TokenRefused(INVALID_TOKEN, "the access token is no longer active (the link may be withdrawn)")
        if answer.get("jti") != claims.get("jti") or answer.get("aud") != self.client.config.client_id:
            raise TokenRefused(INVALID_TOKEN, "the introspection answer is about another token")
        if not isinstance(answer.get("sub"), str) or not answer["sub"]:
            raise TokenRefused(INVALID_TOKEN, "the introspection answer names no subject")
        return answer
