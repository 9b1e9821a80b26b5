"""Bad input never becomes a 500 at the sample providers (issue #11 §2), through
``anchorid.providersim.wsgi.application``: each provider's Shared Signals push endpoint (RFC 8935, errors
``{"err", "description"}``; pushed with and without the stream's bearer token so the SET parser is reached) and its
JWKS document.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.fuzz_http import Endpoint, FuzzRequest, b64url, call, check, row_counts, run, url_patterns

from .conftest import PROVIDER

EXAMPLES = 800
DEEP = "[" * 3_000
SET_TYPE = "application/secevent+jwt"
JSON_ENDPOINTS = [
    Endpoint(f"/{PROVIDER}/ssf/events", ("POST",), (), ("anonymous", "push")),
    Endpoint(f"/{PROVIDER}/.well-known/jwks.json", ("GET",)),
    Endpoint("/no-such-provider/ssf/events", ("POST",), (), ("anonymous", "push")),
]
ROUTE_OF = {f"/{PROVIDER}/ssf/events": "/<slug:slug>/ssf/events",
            f"/{PROVIDER}/.well-known/jwks.json": "/<slug:slug>/.well-known/jwks.json"}  # fmt: skip
# The providers' pages for people (sign-up, login callback, logout): HTML, no JSON.
NOT_JSON = {
    "/healthz",
    "/readyz",
    "/",
    "/<slug:slug>/",
    "/<slug:slug>/signup/",
    "/<slug:slug>/callback/",
    "/<slug:slug>/logout/",
    # the health points app's pages (forms, no JSON): tests/providers/test_health_points.py
    "/health/",
    "/health/login/",
    "/health/callback/",
    "/health/logout/",
    "/health/walk/",
    "/health/link/",
    "/health/award/",
}


@pytest.fixture
def contexts(push_token: str, db: None) -> dict[str, Any]:
    return {"anonymous": {}, "push": {"Authorization": f"Bearer {push_token}"}}


def _wsgi() -> Any:
    from anchorid.providersim.wsgi import application

    return application


def test_it_lists_every_json_endpoint_of_the_urlconf() -> None:
    fuzzed = {ROUTE_OF.get(e.path, e.path) for e in JSON_ENDPOINTS}
    routes = {r for r in url_patterns("anchorid.providersim.urls") if not r.startswith("/i18n/")}
    assert routes - fuzzed - NOT_JSON == set(), "new routes: fuzz them here, or name them in NOT_JSON"


@pytest.mark.parametrize("header", [DEEP, '{"typ":"secevent+jwt","alg":"ES256","kid":' + DEEP + "}"])
def test_it_answers_a_deeply_nested_set_header_with_invalid_request(contexts: dict[str, Any], header: str) -> None:
    token = f"{b64url(header.encode())}.{b64url(b'{}')}.c2ln"
    request = FuzzRequest("POST", f"/{PROVIDER}/ssf/events", token.encode(), SET_TYPE, dict(contexts["push"]))
    before = row_counts()
    answer = call(_wsgi(), request)
    check(answer, request)
    assert (answer.status, json.loads(answer.body)["err"]) == (400, "invalid_request")
    assert row_counts() == before


def test_it_never_answers_a_5xx_to_generated_requests(contexts: dict[str, Any]) -> None:
    counts = run(_wsgi(), JSON_ENDPOINTS, contexts, EXAMPLES)
    print("fuzz:", dict(counts))
    assert counts["requests"] >= EXAMPLES
    assert all(counts[endpoint.path] >= 100 for endpoint in JSON_ENDPOINTS), counts
