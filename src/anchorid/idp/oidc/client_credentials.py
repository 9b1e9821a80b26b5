"""The client_credentials grant (RFC 6749 §4.4), for the Shared Signals stream management API only.

§4.4: "The client credentials grant type MUST only be used by confidential clients", so public clients (``none``)
are refused (``unauthorized_client``). The only scopes are ``ssf.manage`` (create, change, delete the client's own
stream, its status and subjects, ask for verification) and ``ssf.read`` (read them, poll events); with no
``scope`` both are granted. Every confidential client may have them: the stream they open is about the client
itself (its ``aud``, its residents' pairwise subs), so they give no access beyond what the client already has.

The access token is a JWT (RFC 9068, ``typ: at+jwt``) with ``aud`` the SSF resource (``{issuer}/ssf``),
``sub`` and ``client_id`` the client, no grant id and no ``openid`` scope: the UserInfo endpoint and
introspection, which look up the resident's grant, refuse it. With a DPoP proof at the token endpoint the token is
bound to the proof's key (``cnf.jkt``, RFC 9449) and must then be presented with the DPoP scheme. §4.4.3: no
refresh token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from anchorid.common import config as app_config
from anchorid.idp.oidc import config, jwks
from anchorid.idp.oidc.dpop import DPoPProof
from anchorid.idp.oidc.errors import INVALID_SCOPE, UNAUTHORIZED_CLIENT, OAuthError
from anchorid.idp.oidc.models import Client

SSF_SCOPES = ("ssf.manage", "ssf.read")
#: The city's read of the k-anonymous adoption counts (anchorid.idp.adoption); only for the clients named in
#: ANCHORID_IDP_ADOPTION_CLIENTS, alone in its token, whose audience is the adoption resource.
ADOPTION_SCOPE = "adoption.read"
ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type)


def ssf_audience() -> str:
    return config.endpoint("/ssf")


def adoption_audience() -> str:
    return config.endpoint("/adoption")


def issue(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> dict[str, Any]:
    if client.auth_method == Client.AuthMethod.NONE:
        raise OAuthError(UNAUTHORIZED_CLIENT, "client_credentials is for confidential clients only")
    scopes = form.get("scope", "").split() or list(SSF_SCOPES)
    audience = ssf_audience()
    if ADOPTION_SCOPE in scopes:
        if scopes != [ADOPTION_SCOPE]:
            raise OAuthError(INVALID_SCOPE, f"{ADOPTION_SCOPE} is asked for alone")
        if client.client_id not in app_config.IDP_ADOPTION_CLIENTS.configured():
            raise OAuthError(INVALID_SCOPE, f"this client may not read {ADOPTION_SCOPE}")
        audience = adoption_audience()
    elif any(scope not in SSF_SCOPES for scope in scopes):
        raise OAuthError(INVALID_SCOPE, f"client_credentials grants only {' and '.join(SSF_SCOPES)}")
    scope = " ".join(dict.fromkeys(scopes))
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": config.issuer(),
        "exp": now + config.ACCESS_TOKEN_LIFETIME,
        "aud": audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "iat": now,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
    }
    if proof is not None:
        claims["cnf"] = {"jkt": proof.jkt}
    return {
        "access_token": jwks.sign_token(claims, typ=ACCESS_TOKEN_TYP),
        "token_type": "DPoP" if proof is not None else "Bearer",
        "expires_in": config.ACCESS_TOKEN_LIFETIME,
        "scope": scope,
    }
