"""Bad input never becomes a 500 at the participation platform (issue #11 §2), through
``anchorid.participation.wsgi.application``: its JSON documents (the published ballots, open data, the tally key) and
the vote's POST (refused without a session and a CSRF token: nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anchorid.common.rp.resource_server import ResourceServer
from anchorid.participation import api as participation_api
from support.fuzz_http import Endpoint, run, url_patterns
from support.linked_tokens import linked_world

EXAMPLES = 160
JSON_ENDPOINTS = [
    Endpoint("/processes/pb/ballots.json", ("GET",)),
    Endpoint("/processes/pb/open-data.json", ("GET",)),
    Endpoint("/tally-keys.json", ("GET",)),
    Endpoint("/.well-known/jwks.json", ("GET",)),
    Endpoint("/processes/pb/vote/", ("POST",), ("option", "csrfmiddlewaretoken")),
    Endpoint("/api/v1/status", ("GET",)),  # an exchanged token's API (test_linked_api.py: the refusals)
]
ROUTE_OF = {"/processes/pb/ballots.json": "/processes/<slug:slug>/ballots.json",
            "/processes/pb/open-data.json": "/processes/<slug:slug>/open-data.<str:fmt>",
            "/processes/pb/vote/": "/processes/<slug:slug>/vote/"}  # fmt: skip


def _wsgi() -> Any:
    from anchorid.participation.wsgi import application

    return application


def test_it_lists_every_json_endpoint_of_the_urlconf() -> None:
    fuzzed = {ROUTE_OF.get(e.path, e.path) for e in JSON_ENDPOINTS}
    routes = {r for r in url_patterns("anchorid.participation.urls") if r.endswith((".json", ".<str:fmt>"))}
    assert routes - fuzzed == set(), "new JSON routes: fuzz them here"


def test_it_never_answers_a_5xx_to_generated_requests(
    make_process: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = linked_world("participation")  # the idp's keys known here, never fetched: a bad token is a 401
    keys = offline.client.jwks()  # preset: no fetch
    monkeypatch.setattr(offline.client, "jwks", lambda *, refresh=False: keys)
    monkeypatch.setattr(participation_api, "resource_server", lambda: ResourceServer(offline.client))
    make_process("results")
    counts = run(_wsgi(), JSON_ENDPOINTS, {"anonymous": {}}, EXAMPLES)
    assert counts["requests"] >= EXAMPLES
    assert all(counts[endpoint.path] >= 5 for endpoint in JSON_ENDPOINTS), counts


pytestmark = pytest.mark.django_db
