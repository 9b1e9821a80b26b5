"""Bad input never becomes a 500 at the city (issue #11 §2), through ``anchorid.city.wsgi.application``.

The city's JSON endpoints: the Back-Channel Logout endpoint (a logout token from the idp), the departments' Shared
Signals push endpoint (RFC 8935: errors are ``{"err", "description"}``), the payment provider's signed callback,
and the JWKS and lottery audit documents it publishes. The fuzzer sends the push with the stream's bearer token and
signs each callback body with the provider's secret, so the parsers behind those checks are reached.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from anchorid.city.booking import payments
from anchorid.city.booking.views import SIGNATURE_HEADER
from anchorid.common.rp.client import AnchorIDClient
from support.fuzz_http import FORM, Endpoint, FuzzRequest, b64url, call, check, row_counts, run, url_patterns

from .test_departments import push_token, transmitter

__all__ = ["push_token", "transmitter"]

EXAMPLES = 800
DEEP = "[" * 3_000
DEEP_TOKEN = f"{b64url(DEEP.encode())}.{b64url(b'{}')}.c2ln"
SET_TYPE = "application/secevent+jwt"
JSON_ENDPOINTS = [
    Endpoint("/backchannel-logout/", ("POST",), ("logout_token",)),
    Endpoint("/departments/ssf/events", ("POST",), (), ("anonymous", "push")),
    Endpoint(
        "/booking/payments/simulated/callback/",
        ("POST",),
        ("provider_ref", "outcome", "amount_yen", "issued_at"),
        ("anonymous", "payment"),
    ),
    Endpoint("/.well-known/jwks.json", ("GET",)),
    Endpoint("/lottery/1/audit.json", ("GET",)),
]
ROUTE_OF = {
    "/booking/payments/simulated/callback/": "/booking/payments/<str:provider_name>/callback/",
    "/lottery/1/audit.json": "/lottery/<int:round_id>/audit.json",
}
API_PREFIXES = ("/admin/", "/i18n/", "/staff/", "/counter/")  # pages for people (forms, HTML), not JSON APIs
NOT_JSON = {
    "/healthz", "/readyz",  # GET only, no input: tests/*/test_health.py

    "/", "/login/", "/callback/", "/logout/", "/logged-out/", "/departments/", "/departments/connect/",
    "/departments/callback/", "/booking/", "/booking/facilities/<int:facility_id>/", "/booking/book/",
    "/booking/groups/", "/booking/groups/<int:group_id>/", "/booking/bookings/<str:reference>/",
    "/booking/bookings/<str:reference>/pay/", "/booking/bookings/<str:reference>/paid/",
    "/booking/bookings/<str:reference>/cancel/", "/booking/receipts/<str:number>/",
    "/booking/simulated-provider/<str:provider_ref>/", "/lottery/", "/lottery/<int:round_id>/",
    "/lottery/<int:round_id>/enter/", "/lottery/entries/<str:public_id>/withdraw/",
    "/lottery/entries/<str:public_id>/confirm/",
}  # fmt: skip


def _payment_signature(request: FuzzRequest) -> dict[str, str]:
    return {SIGNATURE_HEADER: payments.sign(request.body)}


@pytest.fixture
def contexts(rp: AnchorIDClient, push_token: str, monkeypatch: pytest.MonkeyPatch, db: None) -> dict[str, Any]:
    monkeypatch.setattr(rp, "_get_json", lambda url: {"keys": []})  # an unknown kid refetches: no network here
    return {"anonymous": {}, "push": {"Authorization": f"Bearer {push_token}"}, "payment": _payment_signature}


def _wsgi() -> Any:
    from anchorid.city.wsgi import application

    return application


def test_it_lists_every_json_endpoint_of_the_urlconf() -> None:
    fuzzed = {ROUTE_OF.get(e.path, e.path) for e in JSON_ENDPOINTS}
    routes = {r for r in url_patterns("anchorid.city.urls") if not r.startswith(API_PREFIXES)}
    assert routes - fuzzed - NOT_JSON == set(), "new routes: fuzz them here, or name them in NOT_JSON"


def _answer(request: FuzzRequest, contexts: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    context = contexts[request.context]
    request.headers.update(context(request) if callable(context) else context)
    before = row_counts()
    answer = call(_wsgi(), request)
    check(answer, request)
    assert row_counts() == before
    return answer.status, json.loads(answer.body)


def test_it_answers_a_deeply_nested_logout_token_with_invalid_request(contexts: dict[str, Any]) -> None:
    request = FuzzRequest("POST", "/backchannel-logout/", urlencode({"logout_token": DEEP_TOKEN}).encode(), FORM)
    assert _answer(request, contexts) == (400, {"error": "invalid_request"})


def test_it_answers_a_deeply_nested_set_with_rfc8935_invalid_request(contexts: dict[str, Any]) -> None:
    request = FuzzRequest("POST", "/departments/ssf/events", DEEP_TOKEN.encode(), SET_TYPE, context="push")
    status, body = _answer(request, contexts)
    assert (status, body["err"]) == (400, "invalid_request")


def test_it_answers_a_deeply_nested_payment_callback_with_its_error(contexts: dict[str, Any]) -> None:
    request = FuzzRequest("POST", "/booking/payments/simulated/callback/", DEEP.encode(), "application/json",
                          context="payment")  # fmt: skip
    status, _ = _answer(request, contexts)
    assert status == 400


def test_it_never_answers_a_5xx_to_generated_requests(contexts: dict[str, Any]) -> None:
    counts = run(_wsgi(), JSON_ENDPOINTS, contexts, EXAMPLES)
    print("fuzz:", dict(counts))
    assert counts["requests"] >= EXAMPLES
    assert all(counts[endpoint.path] >= 50 for endpoint in JSON_ENDPOINTS), counts
