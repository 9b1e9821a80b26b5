"""An account that stops (emergency stop, death, deletion) stops at the OpenID Provider at once: its codes are not
redeemed, its refresh tokens refresh nothing and introspect inactive, its access tokens are refused at userinfo and
introspect inactive — and the grants are revoked at the source, so resuming the account does not bring them back."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.test import Client as HttpClient
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.lifecycle import marking
from anchorid.idp.oidc.models import Grant
from anchorid.idp.selfservice import actions

from .oidc_support import ISSUER, exchange, logged_in, post_form, provider, register, resident, run_flow, token_request

__all__ = ["provider"]


def _introspect(rp: Any, token: str) -> dict[str, Any]:
    answer: dict[str, Any] = post_form(HttpClient(), "/oidc/introspect", {"token": token, **rp.auth()}).json()
    return answer


def _userinfo(rp: Any, access_token: str) -> Any:
    headers = {
        "Authorization": "DPoP " + access_token,
        "DPoP": rp.proof("GET", ISSUER + "/oidc/userinfo", access_token=access_token),
    }
    return HttpClient().get("/oidc/userinfo", headers=headers)


def _refresh(rp: Any, refresh_token: str) -> Any:
    return token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def _live_tokens(rp: Any, account: Account) -> dict[str, Any]:
    response = exchange(run_flow(rp, logged_in(account)))
    assert response.status_code == 200, response.content
    tokens: dict[str, Any] = response.json()
    assert _introspect(rp, tokens["refresh_token"])["active"] is True
    assert _introspect(rp, tokens["access_token"])["active"] is True
    return tokens


def _assert_stopped(rp: Any, tokens: dict[str, Any]) -> None:
    assert _introspect(rp, tokens["refresh_token"]) == {"active": False}
    assert _introspect(rp, tokens["access_token"]) == {"active": False}
    assert _userinfo(rp, tokens["access_token"]).status_code == 401
    refreshed = _refresh(rp, tokens["refresh_token"])
    assert refreshed.status_code == 400, refreshed.content
    assert refreshed.json()["error"] == "invalid_grant"


def test_it_a_suspended_account_cannot_redeem_its_code(provider: None) -> None:
    rp, _ = register()
    account = resident()
    flow = run_flow(rp, logged_in(account))
    actions.suspend_account(account, channel="session")
    response = exchange(flow)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()


def test_it_an_emergency_stop_ends_every_token_at_once(provider: None) -> None:
    rp, _ = register()
    account = resident()
    tokens = _live_tokens(rp, account)
    actions.suspend_account(account, channel="session")
    _assert_stopped(rp, tokens)
    assert set(Grant.objects.filter(account=account).values_list("revoked_reason", flat=True)) == {"account_suspended"}


def test_it_resuming_the_account_does_not_revive_its_old_tokens(provider: None) -> None:
    rp, _ = register()
    account = resident()
    tokens = _live_tokens(rp, account)
    actions.suspend_account(account, channel="session")
    actions.resume_account(account)
    _assert_stopped(rp, tokens)
    fresh = exchange(run_flow(rp, logged_in(account)))
    assert fresh.status_code == 200, fresh.content  # a new login works again


def test_it_a_death_closes_the_accounts_grants(provider: None) -> None:
    rp, _ = register()
    account = resident()
    tokens = _live_tokens(rp, account)
    pending = run_flow(rp, logged_in(account))
    with transaction.atomic():
        marking._close_deceased([account.pk], timezone.now())
    _assert_stopped(rp, tokens)
    assert exchange(pending).json()["error"] == "invalid_grant"
    assert set(Grant.objects.filter(account=account).values_list("revoked_reason", flat=True)) == {marking.DECEASED}


def test_it_deleting_the_account_revokes_its_grants(provider: None) -> None:
    rp, _ = register()
    account = resident()
    tokens = _live_tokens(rp, account)
    pending = run_flow(rp, logged_in(account))
    actions.delete_account(account)
    _assert_stopped(rp, tokens)
    assert exchange(pending).json()["error"] == "invalid_grant"


def test_it_a_stopped_account_is_refused_even_if_its_grant_was_not_revoked(provider: None) -> None:
    """Activity is derived from the account's status in every check, not only from the revocation."""
    rp, _ = register()
    account = resident()
    tokens = _live_tokens(rp, account)
    pending = run_flow(rp, logged_in(account))
    Account.objects.filter(pk=account.pk).update(status=Account.Status.SUSPENDED)  # e.g. a future path forgetting
    _assert_stopped(rp, tokens)
    assert exchange(pending).json()["error"] == "invalid_grant"
    assert not Grant.objects.filter(account=account, revoked_at__isnull=False).exists()
