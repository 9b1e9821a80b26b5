"""The rules a grant must meet at the token endpoint, written once for both ways of checking them.

A code exchange (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9449 §10) and a refresh (RFC 6749 §6, RFC 9449 §5, RFC 9700
§4.14.2) succeed in one statement: ``UPDATE grant SET … WHERE <every rule> RETURNING …``. When that statement
changes no row, the same rules are checked one by one against the grant as stored, and the first that does not hold
answers with its error (and its side effect: a reused code or refresh token revokes the grant). Each ``Rule`` holds
both forms of one condition — its SQL fragment with parameters, and its Python test with its refusal — so the two
ways cannot drift apart; ``tests/idp/test_oidc_grant_rules.py`` drives both with generated states and checks that
they agree.

A rule whose SQL form cannot be written for this request (``sql`` returns ``None``: no ``code_verifier``, a
client that must send a DPoP proof sent none) makes the one-statement path inapplicable; its Python test then fails
and answers. The account's status is a rule like the others: an account that is suspended (emergency stop, death)
or deleted redeems no code and refreshes no token, whatever the grant row says (docs/protocols/openid-connect.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from anchorid.idp.accounts.models import Account
from anchorid.idp.oidc import config, pkce
from anchorid.idp.oidc.errors import INVALID_DPOP_PROOF, INVALID_GRANT, OAuthError
from anchorid.idp.oidc.jose import b64url
from anchorid.idp.oidc.models import Client, Grant

RETURNING = "id, account_id, nonce, scope, claims, acr, amr, auth_time, sid"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request at the token endpoint, as far as the rules need it."""

    client: Client
    now: datetime
    jkt: str = ""  # the DPoP proof's key thumbprint, "" without a proof
    # authorization_code
    code_hash: str = ""
    redirect_uri: str | None = None
    code_verifier: str | None = None
    # refresh_token
    grant_id: str = ""
    generation: int = 0

    @property
    def public(self) -> bool:
        return self.client.auth_method == Client.AuthMethod.NONE

    @property
    def rotates(self) -> bool:
        """Whether this refresh moves the token to the next generation (public clients always; confidential ones
        with ``ANCHORID_OIDC_REFRESH_ROTATION=all``); an older generation presented then revokes the grant."""
        return self.public or config.rotate_confidential_refresh_tokens()

    @property
    def has_proof(self) -> bool:
        return bool(self.jkt)


Fragment = tuple[str, list[Any]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One condition: ``sql`` (a WHERE fragment over the grant table and its parameters, or ``None`` when it cannot
    be written for this request), ``holds`` (the same condition on the stored grant) and ``refuse`` (the error when
    it does not hold, after any side effect)."""

    name: str
    sql: Callable[[Attempt], Fragment | None]
    holds: Callable[[Grant, Attempt], bool]
    refuse: Callable[[Grant, Attempt], OAuthError]


def _always(_: Attempt) -> Fragment:
    return ("", [])


def _error(error: str, description: str) -> Callable[[Grant, Attempt], OAuthError]:
    return lambda _grant, _attempt: OAuthError(error, description)


def revoke_grant(grant_id: str, reason: str) -> None:
    from django.utils import timezone

    Grant.objects.filter(id=grant_id, revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_reason=reason)


# --- rules shared by both grants -------------------------------------------------------------------------------

ISSUED_TO_CLIENT = "issued_to_client"

NOT_REVOKED = Rule(
    "not_revoked",
    lambda a: ("revoked_at IS NULL", []),
    lambda g, a: g.revoked_at is None,
    _error(INVALID_GRANT, "the grant was revoked"),
)


def _active_accounts(_: Attempt) -> Fragment:
    table = connection.ops.quote_name(Account._meta.db_table)
    return (f"account_id IN (SELECT id FROM {table} WHERE status = %s)", [Account.Status.ACTIVE.value])  # noqa: S608


ACCOUNT_ACTIVE = Rule(
    "account_active",
    _active_accounts,
    lambda g, a: g.account.status == Account.Status.ACTIVE,
    _error(INVALID_GRANT, "the account is not usable"),
)


def _proof_present(a: Attempt) -> Fragment | None:
    return None if a.client.require_dpop and not a.has_proof else ("", [])


DPOP_REQUIRED = Rule(
    "dpop_required",
    _proof_present,
    lambda g, a: not (a.client.require_dpop and not a.has_proof),
    _error(INVALID_DPOP_PROOF, "this client must send a DPoP proof"),
)


def _issued_to_client(description: str) -> Rule:
    return Rule(
        ISSUED_TO_CLIENT,
        lambda a: ("client_id = %s", [a.client.client_id]),
        lambda g, a: g.client_id == a.client.client_id,
        _error(INVALID_GRANT, description),
    )


# --- authorization_code --------------------------------------------------------------------------------------------


def _code_reused(grant: Grant, _: Attempt) -> OAuthError:
    revoke_grant(grant.id, "code_reuse")  # RFC 6749 §4.1.2: revoke the tokens issued from it
    return OAuthError(INVALID_GRANT, "this code was used before; the tokens issued from it are revoked")


def _verifier_sql(a: Attempt) -> Fragment | None:
    verifier = a.code_verifier
    if not verifier or not pkce.VERIFIER.fullmatch(verifier):
        return None
    return ("code_challenge = %s", [b64url(hashlib.sha256(verifier.encode("ascii")).digest())])


def _verifier_holds(g: Grant, a: Attempt) -> bool:
    try:
        pkce.check_verifier(a.code_verifier, g.code_challenge)
    except OAuthError:
        return False
    return True


def _verifier_refusal(g: Grant, a: Attempt) -> OAuthError:
    try:
        pkce.check_verifier(a.code_verifier, g.code_challenge)
    except OAuthError as error:
        return error
    return OAuthError(INVALID_GRANT, "code_verifier does not match the code_challenge")  # pragma: no cover


EXCHANGE: tuple[Rule, ...] = (
    _issued_to_client("unknown code"),
    Rule("code_unused", lambda a: ("code_used = %s", [False]), lambda g, a: not g.code_used, _code_reused),
    NOT_REVOKED,
    Rule(
        "code_fresh",
        lambda a: ("code_expires_at > %s", [connection.ops.adapt_datetimefield_value(a.now)]),
        lambda g, a: g.code_expires_at > a.now,
        _error(INVALID_GRANT, "the code has expired"),
    ),
    ACCOUNT_ACTIVE,
    Rule(
        "redirect_uri",
        lambda a: None if not a.redirect_uri else ("redirect_uri = %s", [a.redirect_uri]),
        lambda g, a: a.redirect_uri == g.redirect_uri,
        _error(INVALID_GRANT, "redirect_uri does not match the authorization request"),
    ),
    Rule("pkce", _verifier_sql, _verifier_holds, _verifier_refusal),
    DPOP_REQUIRED,
    Rule(
        "dpop_binding",
        lambda a: ("(dpop_jkt = '' OR dpop_jkt = %s)", [a.jkt]),
        lambda g, a: not g.dpop_jkt or a.jkt == g.dpop_jkt,
        _error(INVALID_DPOP_PROOF, "the DPoP key does not match the key the request was bound to"),
    ),
)


# --- refresh_token -----------------------------------------------------------------------------------------------


def _generation_refusal(grant: Grant, attempt: Attempt) -> OAuthError:
    if attempt.rotates and attempt.generation < grant.refresh_generation:
        revoke_grant(grant.id, "refresh_reuse")  # RFC 9700 §4.14.2
        return OAuthError(INVALID_GRANT, "this refresh token was used before; the grant is revoked")
    return OAuthError(INVALID_GRANT, "unknown refresh token")


def _public_binding_sql(a: Attempt) -> Fragment:
    # RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential client authenticates.
    return ("(dpop_jkt = '' OR dpop_jkt = %s)", [a.jkt]) if a.public else ("", [])


REFRESH: tuple[Rule, ...] = (
    _issued_to_client("unknown refresh token"),
    Rule(
        "code_exchanged",
        lambda a: ("code_used = %s", [True]),
        lambda g, a: g.code_used,
        _error(INVALID_GRANT, "unknown refresh token"),
    ),
    Rule(NOT_REVOKED.name, NOT_REVOKED.sql, NOT_REVOKED.holds, _error(INVALID_GRANT, "the refresh token was revoked")),
    Rule(
        "refresh_fresh",
        lambda a: ("refresh_expires_at > %s", [connection.ops.adapt_datetimefield_value(a.now)]),
        lambda g, a: g.refresh_expires_at is not None and g.refresh_expires_at > a.now,
        _error(INVALID_GRANT, "the refresh token has expired"),
    ),
    ACCOUNT_ACTIVE,
    Rule(
        "generation",
        lambda a: ("refresh_generation = %s", [a.generation]),
        lambda g, a: g.refresh_generation == a.generation,
        _generation_refusal,
    ),
    DPOP_REQUIRED,
    Rule(
        "dpop_binding",
        _public_binding_sql,
        lambda g, a: not a.public or not g.dpop_jkt or a.jkt == g.dpop_jkt,
        _error(INVALID_DPOP_PROOF, "the DPoP key does not match the refresh token's key"),
    ),
)

# What makes a refresh token live by itself, whoever presents it (introspection, RFC 7662 §2.2).
REFRESH_TOKEN_LIVE = tuple(
    rule for rule in REFRESH if rule.name not in ("dpop_required", "dpop_binding", ISSUED_TO_CLIENT)
)


# --- the two ways of checking -----------------------------------------------------------------------------------


def where(rules: Sequence[Rule], attempt: Attempt) -> Fragment | None:
    """The WHERE clause of every rule (``AND``), or ``None`` when one of them cannot be written for this request."""
    clauses: list[str] = []
    params: list[Any] = []
    for rule in rules:
        fragment = rule.sql(attempt)
        if fragment is None:
            return None
        sql, values = fragment
        if sql:
            clauses.append(sql)
            params.extend(values)
    return " AND ".join(clauses) or "1 = 1", params


def update(
    rules: Sequence[Rule], attempt: Attempt, key: Fragment, assignments: dict[str, Any]
) -> tuple[Any, ...] | None:
    """``UPDATE grant SET assignments WHERE key AND <rules> RETURNING …``: the row when every rule held, else None
    (also None, without a statement, when the rules cannot be written for this request)."""
    clause = where(rules, attempt)
    if clause is None:
        return None
    key_sql, key_params = key
    conditions, params = clause
    columns = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in assignments)
    table = connection.ops.quote_name(Grant._meta.db_table)
    sql = f"UPDATE {table} SET {columns} WHERE {key_sql} AND {conditions} RETURNING {RETURNING}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*assignments.values(), *key_params, *params])
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def first_failure(rules: Sequence[Rule], grant: Grant, attempt: Attempt) -> Rule | None:
    """The first rule the stored ``grant`` does not meet for this request (no side effect), or None."""
    for rule in rules:
        if not rule.holds(grant, attempt):
            return rule
    return None


def refuse(rules: Sequence[Rule], grant: Grant | None, attempt: Attempt) -> None:
    """Check the rules one by one; raise the first failing rule's error (after its side effect)."""
    if grant is None:
        raise rules[0].refuse(Grant(), attempt)  # an unknown code or token answers as one issued to another client
    failed = first_failure(rules, grant, attempt)
    if failed is not None:
        raise failed.refuse(grant, attempt)
