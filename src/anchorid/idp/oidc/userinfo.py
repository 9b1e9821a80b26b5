"""The UserInfo endpoint (OIDC Core §5.3) for JWT access tokens, DPoP-bound (RFC 9449 §7) or Bearer (RFC 6750).

RFC 9449 §7.1: a DPoP-bound token comes as ``Authorization: DPoP <token>`` with a proof whose ``ath`` is the
token's hash and whose key is the one in ``cnf.jkt``; presenting a DPoP-bound token as Bearer is refused (§7.2).
Errors are 401 with ``WWW-Authenticate`` (``invalid_token``, ``invalid_dpop_proof``, ``use_dpop_nonce``).
The response is ``sub`` plus the claims granted for userinfo, computed from the account's attributes at this moment
(so a stale mark shows as soon as the anchor is revoked).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from anchorid.idp.accounts.models import Account
from anchorid.idp.oidc import config, dpop, jwks
from anchorid.idp.oidc.claims import claim_values
from anchorid.idp.oidc.errors import INVALID_DPOP_PROOF, INVALID_REQUEST, INVALID_TOKEN, OAuthError
from anchorid.idp.oidc.ida import verified_claims
from anchorid.idp.oidc.jose import InvalidJws
from anchorid.idp.oidc.models import Grant
from anchorid.idp.oidc.tokens import ACCESS_TOKEN_TYP


def validate_access_token(token: str) -> tuple[dict[str, Any], Grant]:
    """The claims of a live access token and its grant; raises ``OAuthError(invalid_token)`` (401)."""
    try:
        header, claims = jwks.verify_own_token(token)
    except InvalidJws:
        raise OAuthError(INVALID_TOKEN, "the access token is invalid", status=401) from None
    if header.get("typ") != ACCESS_TOKEN_TYP or claims.get("iss") != config.issuer():
        raise OAuthError(INVALID_TOKEN, "not an access token of this provider", status=401)
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= time.time():
        raise OAuthError(INVALID_TOKEN, "the access token has expired", status=401)
    grant = _live_grant(claims.get("gid"))
    if grant is None or grant.revoked_at is not None or grant.account.status != grant.account.Status.ACTIVE:
        raise OAuthError(INVALID_TOKEN, "the access token was revoked", status=401)
    return claims, grant


_ACCOUNT_COLUMNS = ("id", "status", "attributes_ciphertext", "attributes_verified_at", "attributes_stale_since",
                   "attributes_stale_reason")  # fmt: skip


def _datetime(value: Any) -> datetime | None:
    """A datetime column as the ORM would give it (SQLite returns text; PostgreSQL an aware datetime)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def _live_grant(grant_id: Any) -> Grant | None:
    """The grant of an access token with its account, in one statement naming only the columns userinfo reads
    (client, revocation, claims, the account's status and attributes): the ORM's query building for the same join
    cost more than the rest of the request (py-spy, docs/performance.md). Always the primary database: a
    revocation must be seen at once."""
    if not isinstance(grant_id, str):
        return None
    columns = ", ".join(f"a.{name}" for name in _ACCOUNT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.client_id, g.claims, g.revoked_at, {columns} FROM {Grant._meta.db_table} g "  # noqa: S608
            f"JOIN {Account._meta.db_table} a ON a.id = g.account_id WHERE g.id = %s",
            [grant_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    client_id, granted, revoked_at, account_id, status, ciphertext, verified_at, stale_since, stale_reason = row
    granted = json.loads(granted) if isinstance(granted, str) else granted
    account = Account.from_db(connection.alias, list(_ACCOUNT_COLUMNS),
                              [account_id, status, ciphertext, _datetime(verified_at), _datetime(stale_since),
                               stale_reason])  # fmt: skip
    grant = Grant.from_db(connection.alias, ["id", "client_id", "account_id", "claims", "revoked_at"],
                          [grant_id, client_id, account_id, granted, revoked_at])  # fmt: skip
    grant.account = account
    return grant


def released_claims(grant: Grant, names: list[str], verified: list[str] | None) -> dict[str, Any]:
    """The values of the granted ``names`` (and ``verified_claims`` over ``verified``, default the grant's)."""
    account = grant.account
    info = account.attributes()
    if info is None:
        return {}
    plain = [n for n in names if n != "verified_claims"]
    values = claim_values(info, plain)
    if "verified_claims" in names:
        inner = grant.claims.get("verified", []) if verified is None else verified
        document = verified_claims(
            info,
            inner,
            verified_at=account.attributes_verified_at,
            stale_since=account.attributes_stale_since,
            stale_reason=account.attributes_stale_reason,
            verified_how=account.attributes_verified_how,
        )
        if document is not None:
            values["verified_claims"] = document
    return values


def parse_authorization(authorization: str | None) -> tuple[str, str]:
    """(scheme, token) from the Authorization header; the scheme is "dpop" or "bearer"."""
    if not authorization or " " not in authorization:
        raise OAuthError(INVALID_TOKEN, "an access token is required", status=401)
    scheme, _, token = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("dpop", "bearer") or not token.strip():
        raise OAuthError(INVALID_REQUEST, "use the DPoP or Bearer scheme", status=401)
    return scheme, token.strip()


def userinfo(authorization: str | None, proof: str | None, *, method: str, uri: str) -> dict[str, Any]:
    scheme, token = parse_authorization(authorization)
    claims, grant = validate_access_token(token)
    jkt = (claims.get("cnf") or {}).get("jkt")
    if jkt:
        if scheme != "dpop":
            raise OAuthError(INVALID_TOKEN, "this access token is DPoP-bound: use the DPoP scheme", status=401)
        checked = dpop.verify_proof(proof, method=method, uri=uri, access_token=token, status=401)
        if checked.jkt != jkt:
            raise dpop.DPoPError(INVALID_DPOP_PROOF, "the proof's key is not the token's key", status=401)
    elif scheme != "bearer":
        raise OAuthError(INVALID_TOKEN, "this access token is not DPoP-bound: use the Bearer scheme", status=401)
    if "openid" not in str(claims.get("scope", "")).split():
        raise OAuthError("insufficient_scope", "the openid scope is required", status=403)
    result: dict[str, Any] = {"sub": claims["sub"]}
    result.update(released_claims(grant, grant.claims.get("userinfo", []), None))
    return result
