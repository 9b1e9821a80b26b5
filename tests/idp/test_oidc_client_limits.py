"""Guessing at the token endpoint is limited (anchorid.idp.oidc.client_limits): after N failed client
authentications (per client_id and per IP) or N refused grants (per client), even the right secret, assertion or
code is refused with 429 and Retry-After until the window ends — and accepted again after it."""

from __future__ import annotations

import base64
import time
from typing import Any

from django.test import Client as HttpClient
from joserfc.jwk import ECKey
from pytest_django.fixtures import Settings

from anchorid.idp.oidc.client_limits import AUTH_FAILURES_PER_CLIENT
from anchorid.idp.oidc.models import Grant

from .oidc_support import (
    ASSERTION_TYPE,
    get_nonce,
    logged_in,
    post_form,
    provider,
    register,
    resident,
    run_flow,
    token_request,
)

__all__ = ["provider"]

WINDOW = 3


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _introspect(http: HttpClient, headers: dict[str, str], form: dict[str, str] | None = None) -> Any:
    return post_form(http, "/oidc/introspect", {"token": "anything", **(form or {})}, headers)


def _assert_throttled(response: Any, error: str, window: int = WINDOW) -> int:
    assert response.status_code == 429, response.content
    assert response.json()["error"] == error
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= window + 1
    return retry_after


def _short_windows(settings: Settings, attempts: int = 5) -> None:
    settings.ANCHORID_RATE_LIMITS = {
        "oidc-client-auth-client": [attempts, WINDOW],
        "oidc-client-auth-ip": [attempts * 4, WINDOW],
        "oidc-invalid-grant-client": [attempts, WINDOW],
    }


def _wait_for_next_window() -> None:
    time.sleep(WINDOW - time.time() % WINDOW + 0.05)


def test_it_refuses_the_right_secret_after_too_many_wrong_ones(provider: None) -> None:
    rp, _ = register("clerk-app", profile="simple", auth_method="client_secret_basic", require_dpop=False)
    assert rp.secret
    http = HttpClient()
    limit = AUTH_FAILURES_PER_CLIENT.attempts
    for attempt in range(limit):
        wrong = _introspect(http, _basic(rp.client_id, f"wrong-{attempt}"))
        assert wrong.status_code == 401, (attempt, wrong.content)
        assert wrong.json()["error"] == "invalid_client"
    window = AUTH_FAILURES_PER_CLIENT.window_seconds
    _assert_throttled(_introspect(http, _basic(rp.client_id, "wrong-again")), "invalid_client", window)
    _assert_throttled(_introspect(http, _basic(rp.client_id, rp.secret)), "invalid_client", window)  # the right one
    grant = token_request(http, rp, {"grant_type": "refresh_token", "refresh_token": "x"}, dpop=False)
    _assert_throttled(grant, "invalid_client", window)  # at the token endpoint too


def test_it_accepts_the_right_secret_again_when_the_window_ends(provider: None, settings: Settings) -> None:
    _short_windows(settings)
    rp, _ = register("clerk-app", profile="simple", auth_method="client_secret_basic", require_dpop=False)
    assert rp.secret
    http = HttpClient()
    _wait_for_next_window()
    for attempt in range(5):
        assert _introspect(http, _basic(rp.client_id, f"wrong-{attempt}")).status_code == 401
    _assert_throttled(_introspect(http, _basic(rp.client_id, "wrong-again")), "invalid_client")
    retry_after = _assert_throttled(_introspect(http, _basic(rp.client_id, rp.secret)), "invalid_client")
    time.sleep(retry_after)
    accepted = _introspect(http, _basic(rp.client_id, rp.secret))
    assert accepted.status_code == 200, accepted.content
    assert accepted.json() == {"active": False}


def test_it_refuses_the_right_assertion_after_too_many_bad_ones(provider: None, settings: Settings) -> None:
    _short_windows(settings)
    rp, _ = register()
    http = HttpClient()
    _wait_for_next_window()
    impostor = ECKey.generate_key("P-256")
    for attempt in range(6):
        rp_key, rp.key = rp.key, impostor
        forged = rp.assertion()
        rp.key = rp_key
        form = {"client_id": rp.client_id, "client_assertion_type": ASSERTION_TYPE, "client_assertion": forged}
        response = post_form(http, "/oidc/par", form)
        assert response.status_code == (401 if attempt < 5 else 429), response.content
    right = post_form(http, "/oidc/par", {"client_id": rp.client_id, **rp.auth()})
    retry_after = _assert_throttled(right, "invalid_client")
    time.sleep(retry_after)
    get_nonce(http, rp)  # a successful PAR request (it answers the DPoP nonce)


def test_it_locks_out_an_address_that_fails_for_many_clients(provider: None, settings: Settings) -> None:
    _short_windows(settings)
    rp, _ = register("clerk-app", profile="simple", auth_method="client_secret_basic", require_dpop=False)
    assert rp.secret
    attacker, other = HttpClient(REMOTE_ADDR="192.0.2.7"), HttpClient(REMOTE_ADDR="192.0.2.8")
    _wait_for_next_window()
    for attempt in range(21):  # different client_ids: only the per-IP limit sees them all
        refused = _introspect(attacker, _basic(f"guess-{attempt}", "x"))
        assert refused.status_code == (401 if attempt < 20 else 429), refused.content
    _assert_throttled(_introspect(attacker, _basic(rp.client_id, rp.secret)), "invalid_client")
    assert _introspect(other, _basic(rp.client_id, rp.secret)).status_code == 200  # another address is not locked


def test_it_refuses_the_right_code_after_too_many_wrong_ones(provider: None, settings: Settings) -> None:
    _short_windows(settings)
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    http = HttpClient()
    _wait_for_next_window()
    right = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
             "code_verifier": flow.pkce.verifier}  # fmt: skip
    for attempt in range(5):
        wrong = token_request(http, rp, {**right, "code": f"wrong-code-{attempt}"})
        assert wrong.status_code == 400, wrong.content
        assert wrong.json()["error"] == "invalid_grant"
    _assert_throttled(token_request(http, rp, {**right, "code": "wrong-again"}), "invalid_grant")
    retry_after = _assert_throttled(token_request(http, rp, right), "invalid_grant")
    assert not Grant.objects.get().code_used  # the refused request did not use the code up
    time.sleep(retry_after)
    accepted = token_request(http, rp, right)
    assert accepted.status_code == 200, accepted.content


def test_it_limits_a_public_clients_refused_grants_per_address(provider: None, settings: Settings) -> None:
    """Anyone can claim a public client's client_id: one address's wrong codes must not lock out the others."""
    _short_windows(settings)
    rp, _ = register("app", redirect_uri="https://app.example/cb", profile="simple", auth_method="none")
    flow = run_flow(rp, logged_in(resident()))
    _wait_for_next_window()
    attacker, resident_phone = HttpClient(REMOTE_ADDR="192.0.2.7"), HttpClient(REMOTE_ADDR="198.51.100.4")
    right = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
             "code_verifier": flow.pkce.verifier}  # fmt: skip
    for attempt in range(6):
        token_request(attacker, rp, {**right, "code": f"wrong-{attempt}"}, auth={"client_id": "app"})
    _assert_throttled(token_request(attacker, rp, right, auth={"client_id": "app"}), "invalid_grant")
    accepted = token_request(resident_phone, rp, right, auth={"client_id": "app"})
    assert accepted.status_code == 200, accepted.content
