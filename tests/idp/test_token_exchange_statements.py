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
#: One exchange: the same five minus the UPDATE, the subject's grant with its account and live consents (one
#: SELECT), then one transaction (a savepoint pair in the test's transaction): the exchange record, and the audit
#: entry in its own savepoint pair (the head read, the entry, the head moved). Besides the refresh's: one SELECT,
#: two INSERTs and the audit head's UPDATE; the rest are savepoint markers. Both commit twice.
EXCHANGE_STATEMENTS = 13


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
    writes = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(writes) <= len(refreshing.captured_queries) + 4, "\n".join(writes)
    assert sum(s.startswith("SELECT") and "links_linkconsent" in s for s in statements) == 1
