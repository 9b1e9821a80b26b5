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

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from anchorid.idp.oidc import config, jwks, pkce, refresh
from anchorid.idp.oidc.authorize import hash_code
from anchorid.idp.oidc.dpop import DPoPProof
from anchorid.idp.oidc.errors import INVALID_DPOP_PROOF, INVALID_GRANT, INVALID_REQUEST, OAuthError
from anchorid.idp.oidc.jose import b64url
from anchorid.idp.oidc.models import Client, Grant
from anchorid.idp.oidc.pairwise import subject_for
from anchorid.idp.oidc.pkce import VERIFIER

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type)


def subject(client: Client, grant: Grant) -> str:
    return subject_for(client.sector, client.public_sub, grant.account_id)


def revoke_grant(grant_id: str, reason: str) -> None:
    Grant.objects.filter(id=grant_id, revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_reason=reason)


def check_binding(client: Client, proof: DPoPProof | None, bound_jkt: str) -> None:
    if client.require_dpop and proof is None:
        raise OAuthError(INVALID_DPOP_PROOF, "this client must send a DPoP proof")
    if bound_jkt and (proof is None or proof.jkt != bound_jkt):
        raise OAuthError(INVALID_DPOP_PROOF, "the DPoP key does not match the key the request was bound to")


# The exchange in one statement: the code is used up only when every check below holds, so a request that fails any of
# them changes nothing here and goes through ``_exchange_checked``, which finds out which check failed (and revokes
# on reuse) exactly as before. Two concurrent exchanges of one code: the UPDATE lets one through; the other finds
# the code used and revokes the grant.
_EXCHANGE_SQL = """
UPDATE {table} SET code_used = %s, dpop_jkt = %s, refresh_generation = 1, refresh_expires_at = %s
WHERE code_hash = %s AND code_used = %s AND client_id = %s AND revoked_at IS NULL AND code_expires_at > %s
  AND redirect_uri = %s AND code_challenge = %s AND (dpop_jkt = '' OR dpop_jkt = %s)
RETURNING {returning}
"""
RETURNING = "id, account_id, nonce, scope, claims, acr, amr, auth_time, sid"


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


def exchange_code(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> dict[str, Any]:
    code = form.get("code")
    if not code:
        raise OAuthError(INVALID_REQUEST, "code is required")
    verifier = form.get("code_verifier")
    redirect_uri = form.get("redirect_uri")
    if (proof is None and client.require_dpop) or not redirect_uri or not verifier or not VERIFIER.fullmatch(verifier):
        return _exchange_checked(client, form, proof, code)
    jkt = proof.jkt if proof else ""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _EXCHANGE_SQL.format(table=Grant._meta.db_table, returning=RETURNING),
            [
                True,
                jkt,
                adapt(now + timedelta(seconds=config.REFRESH_TOKEN_LIFETIME)),
                hash_code(code),
                False,
                client.client_id,
                adapt(now),
                redirect_uri,
                b64url(hashlib.sha256(verifier.encode("ascii")).digest()),
                jkt,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return _exchange_checked(client, form, proof, code)
    grant = grant_of(client, row, jkt=jkt, refresh_generation=1)
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


def _exchange_checked(client: Client, form: Mapping[str, str], proof: DPoPProof | None, code: str) -> dict[str, Any]:
    """The exchange check by check (every refusal, and the rare success the one-statement path did not take)."""
    grant = Grant.objects.select_related("account").filter(code_hash=hash_code(code)).first()
    if grant is None or grant.client_id != client.client_id:
        raise OAuthError(INVALID_GRANT, "unknown code")
    if grant.code_used:
        revoke_grant(grant.id, "code_reuse")
        raise OAuthError(INVALID_GRANT, "this code was used before; the tokens issued from it are revoked")
    if grant.revoked_at is not None or grant.code_expires_at <= timezone.now():
        raise OAuthError(INVALID_GRANT, "the code has expired")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise OAuthError(INVALID_GRANT, "redirect_uri does not match the authorization request")
    pkce.check_verifier(form.get("code_verifier"), grant.code_challenge)
    check_binding(client, proof, grant.dpop_jkt)
    jkt = proof.jkt if proof else ""
    refresh_expires = timezone.now() + timedelta(seconds=config.REFRESH_TOKEN_LIFETIME)
    used = Grant.objects.filter(id=grant.id, code_used=False).update(
        code_used=True, dpop_jkt=jkt, refresh_generation=1, refresh_expires_at=refresh_expires
    )
    if used != 1:  # a concurrent exchange of the same code won the race: this one is the reuse
        revoke_grant(grant.id, "code_reuse")
        raise OAuthError(INVALID_GRANT, "this code was used before; the tokens issued from it are revoked")
    grant.dpop_jkt, grant.refresh_generation = jkt, 1
    return token_response(client, grant, with_id_token=True)


def token_response(client: Client, grant: Grant, *, with_id_token: bool, scope: str | None = None) -> dict[str, Any]:
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
        response["id_token"] = id_token(client, grant, sub, now)
    return response


def id_token(client: Client, grant: Grant, sub: str, now: int) -> str:
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
    if grant.nonce:
        claims["nonce"] = grant.nonce
    wanted = grant.claims.get("id_token", [])
    if wanted:
        from anchorid.idp.oidc.userinfo import released_claims

        claims.update(released_claims(grant, wanted, [] if "verified_claims" not in wanted else None))
    return jwks.sign_token(claims, alg=client.id_token_signed_response_alg)
