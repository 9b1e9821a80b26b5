"""Introspection (RFC 7662) of exchanged tokens: answered only to the token's audience.

An exchanged token is active while it verifies and is unexpired, and, at this moment: its exchange is recorded, the
consent it was issued under is neither withdrawn nor expired, the offer is active, the grant the subject token came
from is not revoked, the account is active — and the same for every exchange before it (a further exchange). The
answer names the resident by the audience's own pairwise ``sub``; anyone else (the source that holds the token
included) gets ``{"active": false}``. docs/protocols/token-exchange.md §5.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.links.models import LinkConsent, LinkExchange, LinkOffer
from anchorid.idp.oidc import config, jwks
from anchorid.idp.oidc.jose import InvalidJws
from anchorid.idp.oidc.models import Client, Grant
from anchorid.idp.oidc.pairwise import subject_for
from anchorid.idp.oidc.token_exchange import ACCESS_TOKEN_TYP, _datetime

INACTIVE: dict[str, Any] = {"active": False}
MAX_CHAIN = 8


def is_exchanged(claims: dict[str, Any]) -> bool:
    return "lnk" in claims and "act" in claims


def _level(jti: str) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.parent_id, e.expires_at, c.withdrawn_at, c.expires_at, o.active, g.revoked_at, a.id, a.status "  # noqa: S608
            f"FROM {LinkExchange._meta.db_table} e JOIN {LinkConsent._meta.db_table} c ON c.id = e.consent_id "
            f"JOIN {LinkOffer._meta.db_table} o ON o.id = c.offer_id "
            f"JOIN {Grant._meta.db_table} g ON g.id = e.grant_id "
            f"JOIN {Account._meta.db_table} a ON a.id = c.account_id WHERE e.jti = %s",
            [jti],
        )
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def chain_is_live(jti: str) -> Any:
    """The account id when the exchange ``jti`` and every exchange before it are live; else None."""
    now = timezone.now()
    account = None
    current: str | None = jti
    for _ in range(MAX_CHAIN):
        if current is None:
            return account
        row = _level(current)
        if row is None:
            return None
        parent, exchange_expires, withdrawn_at, consent_expires, offer_active, revoked_at, account_id, status = row
        expires, until = _datetime(exchange_expires), _datetime(consent_expires)
        if (
            withdrawn_at is not None
            or not offer_active
            or revoked_at is not None
            or status != Account.Status.ACTIVE
            or expires is None
            or expires <= now
            or until is None
            or until <= now
        ):
            return None
        account = account if account is not None else account_id
        current = parent
    return None


def introspect(client: Client, token: str) -> dict[str, Any]:
    try:
        header, claims = jwks.verify_own_token(token)
    except InvalidJws:
        return dict(INACTIVE)
    exp = claims.get("exp")
    if (
        header.get("typ") != ACCESS_TOKEN_TYP
        or claims.get("iss") != config.issuer()
        or not is_exchanged(claims)
        or claims.get("aud") != client.client_id
        or not isinstance(exp, int)
        or exp <= time.time()
        or not isinstance(claims.get("jti"), str)
    ):
        return dict(INACTIVE)
    account_id = chain_is_live(claims["jti"])
    if account_id is None:
        return dict(INACTIVE)
    account_id = Account._meta.pk.to_python(account_id)
    result: dict[str, Any] = {
        "active": True,
        "token_type": "DPoP",
        "sub": subject_for(client.sector, client.public_sub, account_id),
    }
    for name in ("iss", "aud", "client_id", "act", "scope", "authorization_details", "cnf", "exp", "iat", "jti", "lnk"):
        if name in claims:
            result[name] = claims[name]
    return result


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS without checking it (only to route a token; never trusted)."""
    from anchorid.common import untrusted_json
    from anchorid.idp.oidc.jose import b64url_decode

    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or len(token) > 16384:
        return None
    try:
        payload = untrusted_json.loads(b64url_decode(parts[1]))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
