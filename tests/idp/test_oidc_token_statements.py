"""The token endpoint and PAR within pinned numbers of SQL statements (SQLite, no Redis): the guessing-limit counters
in one read, the assertion's and the proof's jti in one insert, then the endpoint's own statement."""

from __future__ import annotations

from django.test import Client as HttpClient

from .oidc_support import (
    Pkce,
    exchange,
    logged_in,
    pinned_statements,
    provider,
    push,
    register,
    resident,
    run_flow,
    token_request,
)

__all__ = ["provider"]

# counters; jtis; the grant (besides the periodic statements of oidc_support.PERIODIC_STATEMENTS)
REFRESH_STATEMENTS = 3
CODE_EXCHANGE_STATEMENTS = 3
PAR_STATEMENTS = 3  # counters; jtis; the pushed request


def test_it_refreshes_within_a_pinned_number_of_sql_statements(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    tokens = exchange(run_flow(rp, browser)).json()
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert token_request(HttpClient(), rp, form).status_code == 200
    with pinned_statements(REFRESH_STATEMENTS):
        response = token_request(HttpClient(), rp, form)
    assert response.status_code == 200
    assert response.json()["id_token"]


def test_it_exchanges_a_code_and_pushes_a_request_within_pinned_numbers_of_sql_statements(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    exchange(run_flow(rp, browser))  # consent given, nonce known, keys made
    with pinned_statements(PAR_STATEMENTS):
        pushed = push(HttpClient(), rp, Pkce())
    assert pushed.status_code == 201
    flow = run_flow(rp, browser)
    with pinned_statements(CODE_EXCHANGE_STATEMENTS):
        response = exchange(flow)
    assert response.status_code == 200
    assert response.json()["access_token"]
