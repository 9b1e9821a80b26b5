"""The token endpoint's two ways of checking a grant agree (anchorid.idp.oidc.grant_rules): for generated states of
the account, the grant and the request, the one-statement UPDATE succeeds exactly when every rule holds on the
stored grant, and the endpoint's answer is the first failing rule's error (or tokens when none fails)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchorid.idp.accounts.models import Account
from anchorid.idp.oidc import grant_rules, refresh, tokens
from anchorid.idp.oidc.authorize import hash_code
from anchorid.idp.oidc.dpop import DPoPProof
from anchorid.idp.oidc.errors import OAuthError
from anchorid.idp.oidc.models import Client, Grant

from .oidc_support import b64url, provider

__all__ = ["provider"]

REDIRECT = "https://city.example/callback"
KEY_A, KEY_B = "A" * 43, "B" * 43
VERIFIER = "v" * 50
OTHER_VERIFIER = "w" * 50
STATUSES = [s.value for s in Account.Status]


def _challenge(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


@dataclass(frozen=True)
class Parties:
    account: Account
    clients: dict[tuple[bool, bool], Client]  # (public, require_dpop) -> client
    other: Client


@pytest.fixture
def parties(provider: None) -> Parties:
    account = Account.objects.create_user("resident-rules")
    made: dict[tuple[bool, bool], Client] = {}
    for public in (False, True):
        for require_dpop in (False, True):
            made[(public, require_dpop)] = Client.objects.create(
                client_id=f"rp-{int(public)}{int(require_dpop)}",
                name="rp",
                profile=Client.Profile.SIMPLE,
                auth_method=Client.AuthMethod.NONE if public else Client.AuthMethod.PRIVATE_KEY_JWT,
                redirect_uris=[REDIRECT],
                scopes=["openid"],
                sector="city.example",
                require_dpop=require_dpop,
                require_par=False,
            )
    other = Client.objects.create(client_id="rp-other", name="other", redirect_uris=[REDIRECT], sector="x.example")
    return Parties(account, made, other)


def _rarely() -> st.SearchStrategy[bool]:
    """Mostly False: each refusal on its own is likely, so the states where only one rule fails (or none) are
    generated often, not only the states where several fail at once."""
    return st.sampled_from([False, False, False, True])


STATE = st.fixed_dictionaries(
    {
        "status": st.sampled_from([*[Account.Status.ACTIVE.value] * 4, *STATUSES]),
        "revoked": _rarely(),
        "public": st.booleans(),
        "require_dpop": st.booleans(),
        "foreign_client": _rarely(),
        "bound_jkt": st.sampled_from(["", KEY_A]),
        "proof_jkt": st.sampled_from(["", KEY_A, KEY_A, KEY_B]),
    }
)
EXCHANGE_STATE = st.fixed_dictionaries(
    {
        "code_used": _rarely(),
        "code_expired": _rarely(),
        "unknown_code": _rarely(),
        "redirect_uri": st.sampled_from([REDIRECT, REDIRECT, REDIRECT, REDIRECT + "/other", None]),
        "verifier": st.sampled_from([VERIFIER, VERIFIER, VERIFIER, OTHER_VERIFIER, "short", None]),
    }
)
REFRESH_STATE = st.fixed_dictionaries(
    {
        "code_used": st.sampled_from([True, True, True, False]),
        "refresh_expired": st.sampled_from([False, False, False, True, None]),
        "stored_generation": st.integers(min_value=1, max_value=3),
        "generation_offset": st.sampled_from([0, 0, 0, -1, 1]),
        "unknown_grant": _rarely(),
    }
)


def _grant(parties: Parties, state: dict[str, Any], owner: Client, **fields: Any) -> Grant:
    Account.objects.filter(pk=parties.account.pk).update(status=state["status"])
    now = timezone.now()
    return Grant.objects.create(
        id=secrets.token_hex(8),
        client=owner,
        account=parties.account,
        code_hash=hash_code(secrets.token_urlsafe(16)),
        code_expires_at=now + timedelta(seconds=60),
        redirect_uri=REDIRECT,
        code_challenge=_challenge(VERIFIER),
        nonce="n-1",
        scope="openid",
        claims={},
        acr="urn:anchorid:acr:ial3-aal2",
        amr=["hwk"],
        auth_time=now,
        dpop_jkt=state["bound_jkt"],
        revoked_at=now if state["revoked"] else None,
        **fields,
    )


def _statement_succeeds(statement: Any, attempt: grant_rules.Attempt) -> bool:
    with transaction.atomic():
        row = statement(attempt)
        transaction.set_rollback(True)
    return row is not None


def _endpoint(call: Any) -> str:
    with transaction.atomic():
        try:
            body = call()
        except OAuthError as error:
            return error.error
        finally:
            transaction.set_rollback(True)
    assert "access_token" in body
    return "ok"


def _expected(rules: tuple[grant_rules.Rule, ...], grant: Grant | None, attempt: grant_rules.Attempt) -> str:
    if grant is None:
        return rules[0].refuse(Grant(), attempt).error
    fresh = Grant.objects.select_related("account").get(id=grant.id)
    failed = grant_rules.first_failure(rules, fresh, attempt)
    if failed is None:
        return "ok"
    with transaction.atomic():
        error = failed.refuse(fresh, attempt).error
        transaction.set_rollback(True)
    return error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=STATE, exchange=EXCHANGE_STATE)
def test_it_the_code_exchange_statement_and_its_rules_agree(
    parties: Parties, state: dict[str, Any], exchange: dict[str, Any]
) -> None:
    client = parties.clients[(state["public"], state["require_dpop"])]
    with transaction.atomic():
        now = timezone.now()
        grant = _grant(
            parties,
            state,
            parties.other if state["foreign_client"] else client,
            code_used=exchange["code_used"],
            refresh_generation=1 if exchange["code_used"] else 0,
            refresh_expires_at=now + timedelta(days=1) if exchange["code_used"] else None,
        )
        if exchange["code_expired"]:
            Grant.objects.filter(id=grant.id).update(code_expires_at=now - timedelta(seconds=1))
        code = secrets.token_urlsafe(16)
        if not exchange["unknown_code"]:
            Grant.objects.filter(id=grant.id).update(code_hash=hash_code(code))
        form = {k: v for k, v in (("code", code), ("redirect_uri", exchange["redirect_uri"]),
                                   ("code_verifier", exchange["verifier"])) if v is not None}  # fmt: skip
        proof = DPoPProof(jkt=state["proof_jkt"], jti="j") if state["proof_jkt"] else None
        attempt = tokens.exchange_attempt(client, form, proof)
        stored = None if exchange["unknown_code"] else grant
        expected = _expected(grant_rules.EXCHANGE, stored, attempt)
        assert _statement_succeeds(tokens.exchange_statement, attempt) == (expected == "ok"), (expected, state)
        assert _endpoint(lambda: tokens.exchange_code(client, form, proof)) == expected, state
        transaction.set_rollback(True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=STATE, rotation=REFRESH_STATE)
def test_it_the_refresh_statement_and_its_rules_agree(
    parties: Parties, state: dict[str, Any], rotation: dict[str, Any]
) -> None:
    client = parties.clients[(state["public"], state["require_dpop"])]
    with transaction.atomic():
        now = timezone.now()
        expiry = {None: None, False: now + timedelta(days=1), True: now - timedelta(seconds=1)}
        grant = _grant(
            parties,
            state,
            parties.other if state["foreign_client"] else client,
            code_used=rotation["code_used"],
            refresh_generation=rotation["stored_generation"],
            refresh_expires_at=expiry[rotation["refresh_expired"]],
        )
        grant_id = secrets.token_hex(8) if rotation["unknown_grant"] else grant.id
        presented = rotation["stored_generation"] + rotation["generation_offset"]
        form = {"refresh_token": refresh.make_token(grant_id, presented)}
        proof = DPoPProof(jkt=state["proof_jkt"], jti="j") if state["proof_jkt"] else None
        attempt = refresh.refresh_attempt(client, form, proof)
        stored = None if rotation["unknown_grant"] else grant
        expected = _expected(grant_rules.REFRESH, stored, attempt)
        assert _statement_succeeds(refresh.refresh_statement, attempt) == (expected == "ok"), (expected, state)
        assert _endpoint(lambda: refresh.refresh(client, form, proof)) == expected, state
        transaction.set_rollback(True)
