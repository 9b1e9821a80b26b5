"""The exchange path is as cheap as the refresh path: SQL statements of one token exchange, pinned, beside one
refresh of the same client (docs/protocols/token-exchange.md §9; the benchmark measures the rates)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from .links_support import exchange_request, link, services
from .oidc_support import exchange, logged_in, provider, resident, run_flow, token_request
from .production_wsgi import ProductionClient as HttpClient

__all__ = ["provider"]

#: One refresh: the three client-limit counters read, the client assertion's and the proof's jtis (one INSERT), the
#: grant's one conditional UPDATE … RETURNING.
REFRESH_STATEMENTS = 5
#: One exchange: the same counters and jti INSERT, the subject's grant with its account and live consents (one
#: SELECT), the exchange record (one INSERT; the audit entry is appended from it by the worker, links.usage).
EXCHANGE_STATEMENTS = 6


def test_it_exchanges_within_a_pinned_number_of_sql_statements_close_to_a_refresh(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    flow = run_flow(s.health, logged_in(hanako), scope="openid")
    tokens: dict[str, Any] = exchange(flow).json()
    assert exchange_request(s.health, tokens["access_token"]).status_code == 200  # first-time costs paid
    with CaptureQueriesContext(connection) as refreshing:
        refreshed = token_request(HttpClient(), s.health, {"grant_type": "refresh_token",
                                                                "refresh_token": tokens["refresh_token"]})  # fmt: skip
    assert refreshed.status_code == 200, refreshed.content
    with CaptureQueriesContext(connection) as exchanging:
        response = exchange_request(s.health, tokens["access_token"])
    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in exchanging.captured_queries]
    assert len(statements) <= EXCHANGE_STATEMENTS, "\n".join(statements)
    assert len(refreshing.captured_queries) <= REFRESH_STATEMENTS
    assert len(statements) <= len(refreshing.captured_queries) + 1, "\n".join(statements)
    assert sum(s.startswith("SELECT") and "links_linkconsent" in s for s in statements) == 1
