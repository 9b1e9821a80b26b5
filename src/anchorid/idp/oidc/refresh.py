"""Refreshing an access token (RFC 6749 §6), with rotation and reuse detection for public clients.

A refresh token is ``rt1.<grant id>.<generation>.<MAC>``: the MAC (HMAC-SHA256 under the provider's refresh key)
makes it unforgeable without storing it, and the generation says which one it is. RFC 9700 §4.14.2: "refresh token
rotation ... If a refresh token is compromised and subsequently used by both the attacker and the legitimate client,
one of them will present an invalidated refresh token, which will inform the authorization server of the breach.
The authorization server cannot determine which party submitted the invalid refresh token, but it will revoke the
active refresh token." Public clients get a new refresh token on each use and presenting an older generation revokes
the grant. Confidential clients authenticate on every refresh (FAPI 2.0 §5.3.2.1 discourages rotation for them), so
their refresh token stays the same, unless ``ANCHORID_OIDC_REFRESH_ROTATION=all`` rotates theirs too. A DPoP-bound
grant needs a proof from the same key for public clients (RFC 9449 §5: "refresh tokens issued to public clients ...
MUST be bound to the DPoP key").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from anchorid.idp.oidc import grant_rules
from anchorid.idp.oidc.dpop import DPoPProof
from anchorid.idp.oidc.errors import INVALID_GRANT, INVALID_REQUEST, INVALID_SCOPE, OAuthError
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


def refresh_attempt(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> grant_rules.Attempt:
    parsed = parse_token(form.get("refresh_token", ""))
    if parsed is None:
        raise OAuthError(INVALID_GRANT, "unknown refresh token")
    grant_id, generation = parsed
    return grant_rules.Attempt(
        client=client, now=timezone.now(), jkt=proof.jkt if proof else "", grant_id=grant_id, generation=generation
    )


def next_generation(attempt: grant_rules.Attempt) -> int:
    return attempt.generation + 1 if attempt.rotates else attempt.generation


def refresh_statement(attempt: grant_rules.Attempt) -> tuple[Any, ...] | None:
    """The refresh in one statement (``grant_rules.update``): the grant's row when every rule of
    ``grant_rules.REFRESH`` held (a public client's token then moves to the next generation), else None."""
    assignments = {"dpop_jkt": attempt.jkt, "refresh_generation": next_generation(attempt)}
    return grant_rules.update(grant_rules.REFRESH, attempt, ("id = %s", [attempt.grant_id]), assignments)


def refresh(client: Client, form: Mapping[str, str], proof: DPoPProof | None) -> dict[str, Any]:
    from anchorid.idp.oidc.tokens import grant_of, token_response

    attempt = refresh_attempt(client, form, proof)
    scope = form.get("scope")
    row = None if scope is not None else refresh_statement(attempt)
    if row is None:
        row = _refresh_checked(attempt, scope)
    grant = grant_of(client, row, jkt=attempt.jkt, refresh_generation=next_generation(attempt))
    return token_response(client, grant, with_id_token=True, scope=scope, refreshed=True)


def _check_scope(grant: Grant, scope: str) -> None:
    if not scope.split() or set(scope.split()) - set(grant.scope.split()):
        raise OAuthError(INVALID_SCOPE, "scope must be a subset of the granted scope")
    if "openid" not in scope.split():
        raise OAuthError(INVALID_REQUEST, "scope must include openid")


def _refresh_checked(attempt: grant_rules.Attempt, scope: str | None) -> tuple[Any, ...]:
    """The refresh rule by rule (every refusal, and requests that narrow the scope), then the one statement; tokens
    are only ever issued by that statement (tried twice if the grant changed between the statement and this read)."""
    for _ in range(2):
        grant = Grant.objects.select_related("account").filter(id=attempt.grant_id).first()
        grant_rules.refuse(grant_rules.REFRESH, grant, attempt)
        assert grant is not None
        if scope is not None:
            _check_scope(grant, scope)
        row = refresh_statement(attempt)
        if row is not None:
            return row
    raise OAuthError(INVALID_GRANT, "this refresh token was used before")
