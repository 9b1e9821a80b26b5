"""Refreshing an access token (RFC 6749 §6), with rotation and reuse detection for public clients.

A refresh token is ``rt1.<grant id>.<generation>.<MAC>``: the MAC (HMAC-SHA256 under the provider's refresh key)
makes it unforgeable without storing it, and the generation says which one it is. RFC 9700 §4.14.2: "refresh token
rotation ... If a refresh token is compromised and subsequently used by both the attacker and the legitimate client,
one of them will present an invalidated refresh token, which will inform the authorization server of the breach.
The authorization server cannot determine which party submitted the invalid refresh token, but it will revoke the
active refresh token." Public clients get a new refresh token on each use and presenting an older generation revokes
the grant. Confidential clients authenticate on every refresh (FAPI 2.0 §5.3.2.1 discourages rotation for them), so
their refresh token stays the same. A DPoP-bound grant needs a proof from the same key for public clients
(RFC 9449 §5: "refresh tokens issued to public clients ... MUST be bound to the DPoP key").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.oidc.dpop import DPoPProof
from anchorid.idp.oidc.errors import INVALID_DPOP_PROOF, INVALID_GRANT, INVALID_REQUEST, INVALID_SCOPE, OAuthError
from anchorid.idp.oidc.jose import b64url
from anchorid.idp.oidc.models import Client, Grant
from anchorid.idp.oidc.secrets_ import derived_key

PREFIX = "rt1"


def _mac(grant_id: str, generation: int) -> str:
    message = f"{PREFIX}.{grant_id}.{generation}".encode()
    return b64url(hmac.new(derived_key("refresh"), message, hashlib.sha256).digest())


def make_token(grant_id: str, generation: int) -> str:
    return f"{PREFIX}.{grant_id}.{generation}.{_mac(grant_id, generation)}"


def parse_token(token: str) -> tuple[str, int] | None:
    """(grant id, generation) of a genuine refresh token, or None."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 4 or parts[0] != PREFIX or not parts[2].isdigit():
        return None
    grant_id, generation = parts[1], int(parts[2])
    if not hmac.compare_digest(parts[3], _mac(grant_id, generation)):
        return None
    return grant_id, generation


# The refresh in one statement when every check holds (see tokens._EXCHANGE_SQL); any refusal (and a request with
# ``scope``) goes through ``_refresh_checked``, which finds out which check failed and revokes on reuse.
_REFRESH_SQL = """
UPDATE {table} SET dpop_jkt = %s, refresh_generation = %s
WHERE id = %s AND client_id = %s AND code_used = %s AND revoked_at IS NULL AND refresh_expires_at > %s
  AND refresh_generation = %s AND ({public} OR dpop_jkt = '' OR dpop_jkt = %s)
  AND account_id IN (SELECT id FROM {accounts} WHERE status = %s)
RETURNING {returning}
"""


def refresh(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> dict[str, Any]:
    from anchorid.idp.oidc.tokens import RETURNING, grant_of, token_response

    parsed = parse_token(form.get("refresh_token", ""))
    if parsed is None:
        raise OAuthError(INVALID_GRANT, "unknown refresh token")
    grant_id, generation = parsed
    public = client.auth_method == Client.AuthMethod.NONE
    if "scope" in form or (client.require_dpop and proof is None):
        return _refresh_checked(client, form, proof, grant_id, generation)
    jkt = proof.jkt if proof else ""
    next_generation = generation + 1 if public else generation
    sql = _REFRESH_SQL.format(
        table=Grant._meta.db_table,
        public="FALSE" if public else "TRUE",
        accounts=Account._meta.db_table,
        returning=RETURNING,
    )
    params: list[Any] = [jkt, next_generation, grant_id, client.client_id, True]
    params += [connection.ops.adapt_datetimefield_value(timezone.now()), generation, jkt, Account.Status.ACTIVE.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return _refresh_checked(client, form, proof, grant_id, generation)
    grant = grant_of(client, row, jkt=jkt, refresh_generation=next_generation)
    return token_response(client, grant, with_id_token=True)


def _refresh_checked(
    client: Client, form: Mapping[str, str], proof: DPoPProof | None, grant_id: str, generation: int
) -> dict[str, Any]:
    """The refresh check by check (every refusal, and requests that narrow the scope)."""
    from anchorid.idp.oidc.tokens import revoke_grant, token_response

    grant = Grant.objects.select_related("account").filter(id=grant_id).first()
    if grant is None or grant.client_id != client.client_id or not grant.code_used:
        raise OAuthError(INVALID_GRANT, "unknown refresh token")
    if grant.revoked_at is not None:
        raise OAuthError(INVALID_GRANT, "the refresh token was revoked")
    if grant.refresh_expires_at is None or grant.refresh_expires_at <= timezone.now():
        raise OAuthError(INVALID_GRANT, "the refresh token has expired")
    if grant.account.status != grant.account.Status.ACTIVE:
        raise OAuthError(INVALID_GRANT, "the account is not usable")
    public = client.auth_method == Client.AuthMethod.NONE
    if generation != grant.refresh_generation:
        if public and generation < grant.refresh_generation:
            revoke_grant(grant.id, "refresh_reuse")
            raise OAuthError(INVALID_GRANT, "this refresh token was used before; the grant is revoked")
        raise OAuthError(INVALID_GRANT, "unknown refresh token")
    if client.require_dpop and proof is None:
        raise OAuthError(INVALID_DPOP_PROOF, "this client must send a DPoP proof")
    if public and grant.dpop_jkt and (proof is None or proof.jkt != grant.dpop_jkt):
        raise OAuthError(INVALID_DPOP_PROOF, "the DPoP key does not match the refresh token's key")
    scope = form.get("scope")
    if scope is not None:
        if not scope.split() or set(scope.split()) - set(grant.scope.split()):
            raise OAuthError(INVALID_SCOPE, "scope must be a subset of the granted scope")
        if "openid" not in scope.split():
            raise OAuthError(INVALID_REQUEST, "scope must include openid")
    jkt = proof.jkt if proof else ""
    updates: dict[str, Any] = {"dpop_jkt": jkt}
    if public:
        updates["refresh_generation"] = generation + 1
    changed = Grant.objects.filter(id=grant.id, refresh_generation=generation, revoked_at__isnull=True).update(
        **updates
    )
    if changed != 1:
        if public:
            revoke_grant(grant.id, "refresh_reuse")
        raise OAuthError(INVALID_GRANT, "this refresh token was used before")
    grant.dpop_jkt = jkt
    grant.refresh_generation = updates.get("refresh_generation", generation)
    return token_response(client, grant, with_id_token=True, scope=scope)
