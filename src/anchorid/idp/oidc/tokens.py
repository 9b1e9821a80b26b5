"""The token endpoint's authorization_code grant, and the tokens it issues.

- RFC 6749 §4.1.3 + OIDC Core §3.1.3.2: the code must have been issued to this client, for this redirect URI, not
  expired (60 s), and used once: RFC 6749 §4.1.2 "If an authorization code is used more than once, the
  authorization server MUST deny the request and SHOULD revoke (when possible) all tokens previously issued based
  on that authorization code" — we revoke the grant, which every token issued from it refers to.
- RFC 7636 §4.6 PKCE (``pkce``); RFC 9449 §5 a DPoP proof binds the tokens (``cnf.jkt``), required for clients
  that require DPoP and matching the key bound at PAR (RFC 9449 §10).
- ID token (OIDC Core §2): iss, sub (pairwise), aud, exp, iat, auth_time, nonce, acr, amr, sid, and the claims
  requested for the ID token that the resident granted. Access token: a JWT per RFC 9068 (``typ: at+jwt``; iss,
  exp, aud, sub, client_id, iat, jti, scope, cnf) plus ``gid``, the grant it belongs to (checked at userinfo and
  introspection, so revoking the grant revokes it). Both are signed with the current key (``jwks``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from anchorid.idp.oidc import config, grant_rules, jwks, refresh
from anchorid.idp.oidc.authorize import hash_code
from anchorid.idp.oidc.dpop import DPoPProof
from anchorid.idp.oidc.errors import INVALID_GRANT, INVALID_REQUEST, OAuthError
from anchorid.idp.oidc.models import Client, Grant
from anchorid.idp.oidc.pairwise import subject_for

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type)


def subject(client: Client, grant: Grant) -> str:
    return subject_for(client.sector, client.public_sub, grant.account_id)


def revoke_grant(grant_id: str, reason: str) -> None:
    grant_rules.revoke_grant(grant_id, reason)


def revoke_account(account_id: Any, reason: str) -> int:
    """Revoke every grant of an account that stopped (emergency stop, death, deletion): its codes, access and
    refresh tokens stop at once. Returns how many grants were revoked. (The token endpoint, userinfo and
    introspection also refuse any grant of an account that is not active, whatever this wrote.)"""
    return Grant.objects.filter(account_id=account_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


# The exchange in one statement (``grant_rules.update``): the code is used up only when every rule of
# ``grant_rules.EXCHANGE`` holds, so a request that fails any of them changes nothing and goes through
# ``_exchange_checked``, which checks the same rules one by one, answers the first that fails (and revokes on reuse).
# Two concurrent exchanges of one code: the UPDATE lets one through; the other finds the code used and revokes the
# grant.
RETURNING = grant_rules.RETURNING


_ACCOUNT_ID = Grant._meta.get_field("account").target_field


def _json_column(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _datetime_column(value: Any) -> datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None
        value = parsed
    assert isinstance(value, datetime)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def exchange_attempt(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> grant_rules.Attempt:
    code = form.get("code")
    if not code:
        raise OAuthError(INVALID_REQUEST, "code is required")
    return grant_rules.Attempt(
        client=client,
        now=timezone.now(),
        jkt=proof.jkt if proof else "",
        code_hash=hash_code(code),
        redirect_uri=form.get("redirect_uri"),
        code_verifier=form.get("code_verifier"),
    )


def exchange_statement(attempt: grant_rules.Attempt) -> tuple[Any, ...] | None:
    """The one statement: the grant's row when every rule held (the code is then used up), else None."""
    assignments = {
        "code_used": True,
        "dpop_jkt": attempt.jkt,
        "refresh_generation": 1,
        "refresh_expires_at": connection.ops.adapt_datetimefield_value(
            attempt.now + timedelta(seconds=config.REFRESH_TOKEN_LIFETIME)
        ),
    }
    return grant_rules.update(grant_rules.EXCHANGE, attempt, ("code_hash = %s", [attempt.code_hash]), assignments)


def exchange_code(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> dict[str, Any]:
    attempt = exchange_attempt(client, form, proof)
    row = exchange_statement(attempt)
    if row is None:
        row = _exchange_checked(attempt)
    grant = grant_of(client, row, jkt=attempt.jkt, refresh_generation=1)
    return token_response(client, grant, with_id_token=True)


def grant_of(client: Client, row: tuple[Any, ...], *, jkt: str, refresh_generation: int) -> Grant:
    """A ``Grant`` from the ``RETURNING`` columns of a one-statement exchange or refresh (not saved again)."""
    grant_id, account_id, nonce, scope, claims, acr, amr, auth_time, sid = row
    return Grant(
        id=grant_id,
        client=client,
        account_id=_ACCOUNT_ID.to_python(account_id),
        code_used=True,
        nonce=nonce,
        scope=scope,
        claims=_json_column(claims),
        acr=acr,
        amr=_json_column(amr),
        auth_time=_datetime_column(auth_time),
        sid=sid,
        dpop_jkt=jkt,
        refresh_generation=refresh_generation,
    )


def _exchange_checked(attempt: grant_rules.Attempt) -> tuple[Any, ...]:
    """The exchange rule by rule, after the one statement changed nothing: the first rule that fails answers.

    When every rule holds on the stored grant (it changed between the statement and this read), the statement is
    tried once more; tokens are only ever issued by that statement."""
    for _ in range(2):
        grant = Grant.objects.select_related("account").filter(code_hash=attempt.code_hash).first()
        grant_rules.refuse(grant_rules.EXCHANGE, grant, attempt)
        row = exchange_statement(attempt)
        if row is not None:
            return row
    raise OAuthError(INVALID_GRANT, "the code changed while it was being exchanged; try again")


def token_response(
    client: Client, grant: Grant, *, with_id_token: bool, scope: str | None = None, refreshed: bool = False
) -> dict[str, Any]:
    now = int(time.time())
    sub = subject(client, grant)
    scope = scope or grant.scope
    access_claims: dict[str, Any] = {
        "iss": config.issuer(),
        "exp": now + config.ACCESS_TOKEN_LIFETIME,
        "aud": config.issuer(),
        "sub": sub,
        "client_id": client.client_id,
        "iat": now,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
        "auth_time": int(grant.auth_time.timestamp()),
        "acr": grant.acr,
        "gid": grant.id,
    }
    if grant.dpop_jkt:
        access_claims["cnf"] = {"jkt": grant.dpop_jkt}
    response: dict[str, Any] = {
        "access_token": jwks.sign_token(access_claims, typ=ACCESS_TOKEN_TYP),
        "token_type": "DPoP" if grant.dpop_jkt else "Bearer",
        "expires_in": config.ACCESS_TOKEN_LIFETIME,
        "scope": scope,
        "refresh_token": refresh.make_token(grant.id, grant.refresh_generation),
    }
    if with_id_token:
        response["id_token"] = id_token(client, grant, sub, now, with_nonce=not refreshed)
    return response


def id_token(client: Client, grant: Grant, sub: str, now: int, *, with_nonce: bool = True) -> str:
    """OIDC Core §12.2: an ID token issued on refresh "SHOULD NOT" carry the ``nonce`` (``with_nonce=False``); the
    nonce belongs to the authentication request, which a refresh does not repeat."""
    claims: dict[str, Any] = {
        "iss": config.issuer(),
        "sub": sub,
        "aud": client.client_id,
        "exp": now + config.ID_TOKEN_LIFETIME,
        "iat": now,
        "auth_time": int(grant.auth_time.timestamp()),
        "acr": grant.acr,
        "amr": grant.amr,
        "sid": grant.sid,
    }
    if grant.nonce and with_nonce:
        claims["nonce"] = grant.nonce
    wanted = grant.claims.get("id_token", [])
    if wanted:
        from anchorid.idp.oidc.userinfo import released_claims

        claims.update(released_claims(grant, wanted, [] if "verified_claims" not in wanted else None))
    return jwks.sign_token(claims, alg=client.id_token_signed_response_alg)
