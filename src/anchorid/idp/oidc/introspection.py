"""OAuth 2.0 Token Introspection (RFC 7662).

§2.1: the caller authenticates (we accept only authenticated clients: private_key_jwt or client_secret_basic) and
sends ``token`` (+ ``token_type_hint``). §2.2: the answer is ``{"active": false}`` for anything not active —
expired, revoked, unknown, malformed, issued to another client (so one service cannot learn about another's tokens),
or of an account that is not active (suspended, deceased, deleted; the refresh rules of ``grant_rules``) — and
otherwise ``active`` with ``scope``, ``client_id``, ``token_type``, ``exp``, ``iat``, ``sub``,
``aud``, ``iss``, ``jti`` and, for DPoP-bound tokens, ``cnf`` (RFC 9449 §6.2).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from anchorid.idp.oidc import config, grant_rules, refresh
from anchorid.idp.oidc.errors import INVALID_CLIENT, INVALID_REQUEST, OAuthError
from anchorid.idp.oidc.models import Client, Grant
from anchorid.idp.oidc.tokens import subject

INACTIVE: dict[str, Any] = {"active": False}


def introspect(client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    from anchorid.idp.oidc.userinfo import validate_access_token

    if client.auth_method == Client.AuthMethod.NONE:
        raise OAuthError(INVALID_CLIENT, "introspection needs an authenticated client", status=401)
    token = form.get("token")
    if not token:
        raise OAuthError(INVALID_REQUEST, "token is required")
    parsed = refresh.parse_token(token)
    if parsed is not None:
        grant = Grant.objects.select_related("account").filter(id=parsed[0]).first()
        attempt = grant_rules.Attempt(client=client, now=timezone.now(), grant_id=parsed[0], generation=parsed[1])
        if (
            grant is None
            or grant.client_id != client.client_id
            or grant_rules.first_failure(grant_rules.REFRESH_TOKEN_LIVE, grant, attempt) is not None
        ):
            return dict(INACTIVE)
        assert grant.refresh_expires_at is not None
        result = {
            "active": True,
            "token_type": "refresh_token",
            "client_id": client.client_id,
            "scope": grant.scope,
            "sub": subject(client, grant),
            "iss": config.issuer(),
            "exp": int(grant.refresh_expires_at.timestamp()),
            "iat": int(grant.created_at.timestamp()),
        }
        if grant.dpop_jkt:
            result["cnf"] = {"jkt": grant.dpop_jkt}
        return result
    from anchorid.idp.links import introspection as links_introspection

    peek = links_introspection.unverified_claims(token)
    if peek is not None and links_introspection.is_exchanged(peek):  # answered only to its audience
        return links_introspection.introspect(client, token)
    try:
        claims, grant = validate_access_token(token)
    except OAuthError:
        return dict(INACTIVE)
    if claims.get("client_id") != client.client_id or claims["exp"] <= time.time():
        return dict(INACTIVE)
    result = {"active": True, "token_type": "DPoP" if "cnf" in claims else "Bearer"}
    for name in ("scope", "client_id", "exp", "iat", "sub", "aud", "iss", "jti", "cnf", "acr", "auth_time"):
        if name in claims:
            result[name] = claims[name]
    return result
