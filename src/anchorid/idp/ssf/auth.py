"""Who is calling the stream management API and the poll endpoint: a client with an access token from the
client_credentials grant (``anchorid.idp.oidc.client_credentials``), presented as ``Bearer`` (RFC 6750 §2.1) or,
when the token is DPoP-bound, as ``DPoP`` with a proof for this request (RFC 9449 §7).

Refusals (``ApiError``): no or malformed token, expired, not ours, not for the SSF resource, or the client is gone
→ 401 ``invalid_token`` with ``WWW-Authenticate``; a token without the needed scope → 403 ``insufficient_scope``
(RFC 6750 §3.1). Resident tokens (authorization code grant) never carry the SSF scopes or audience.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.http import HttpRequest

from anchorid.idp.oidc import config, dpop, jwks
from anchorid.idp.oidc.client_credentials import ACCESS_TOKEN_TYP, ssf_audience
from anchorid.idp.oidc.clients import get_client
from anchorid.idp.oidc.errors import OAuthError
from anchorid.idp.oidc.jose import InvalidJws
from anchorid.idp.oidc.models import Client


class ApiError(Exception):
    """An SSF API refusal: HTTP status, error code and a description for developers (never personal data)."""

    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True, slots=True)
class Caller:
    client: Client
    scopes: frozenset[str]


def _unauthorized(description: str, error: str = "invalid_token") -> ApiError:
    challenge = f'Bearer realm="ssf", error="{error}"'
    return ApiError(401, error, description, {"WWW-Authenticate": challenge})


def authenticate(request: HttpRequest, path: str, scope: str, *, audience: str | None = None) -> Caller:
    """The calling client; ``audience`` is the resource the token must be for (default: the SSF API)."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    scheme, token = scheme.lower(), token.strip()
    if scheme not in ("bearer", "dpop") or not token:
        raise _unauthorized("an access token from the client_credentials grant is required (Bearer)")
    try:
        header, claims = jwks.verify_own_token(token)
    except InvalidJws:
        raise _unauthorized("the access token is invalid") from None
    if (
        header.get("typ") != ACCESS_TOKEN_TYP
        or claims.get("iss") != config.issuer()
        or claims.get("aud") != (audience or ssf_audience())
    ):
        raise _unauthorized("not an access token for this API")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= time.time():
        raise _unauthorized("the access token has expired")
    client = get_client(claims.get("client_id"))
    if client is None or client.auth_method == Client.AuthMethod.NONE:
        raise _unauthorized("the client is unknown or inactive")
    jkt = (claims.get("cnf") or {}).get("jkt")
    if jkt:
        if scheme != "dpop":
            raise _unauthorized("this access token is DPoP-bound: use the DPoP scheme")
        try:
            proof = dpop.verify_proof(
                request.headers.get("DPoP"),
                method=request.method or "",
                uri=config.endpoint(path),
                access_token=token,
                status=401,
            )
        except OAuthError as e:
            # RFC 9449 §7.1/§9: a DPoP error (a nonce needed, a bad proof) names the DPoP scheme and, for a nonce,
            # carries the nonce to use.
            headers = {"WWW-Authenticate": f'DPoP error="{e.error}", algs="ES256 PS256"'}
            if isinstance(e, dpop.DPoPError):
                headers["DPoP-Nonce"] = e.nonce
            raise ApiError(401, e.error, e.description or e.error, headers) from None
        if proof.jkt != jkt:
            raise _unauthorized("the proof's key is not the token's key", "invalid_dpop_proof")
    elif scheme != "bearer":
        raise _unauthorized("this access token is not DPoP-bound: use the Bearer scheme")
    scopes = frozenset(str(claims.get("scope", "")).split())
    if scope not in scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            f"this request needs the {scope} scope",
            {"WWW-Authenticate": f'Bearer realm="ssf", error="insufficient_scope", scope="{scope}"'},
        )
    return Caller(client=client, scopes=scopes)
