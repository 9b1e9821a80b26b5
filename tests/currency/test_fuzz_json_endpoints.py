"""Bad input never becomes a 500 at the currency (issue #11 §2), through ``anchorid.currency.wsgi.application``:
the terminal's read endpoint (a payment code and an amount, behind the merchant owner's session and CSRF token),
the terminal's live list, the payment code's status, the Back-Channel Logout endpoint and the JWKS."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from joserfc.jwk import ECKey

from anchorid.currency import service
from anchorid.currency.login import LOGIN_KEY
from anchorid.currency.models import Merchant
from support.fuzz_http import FORM, Endpoint, FuzzRequest, call, check, row_counts, run, url_patterns

from .conftest import RESIDENT

EXAMPLES = 1_200  # 7 endpoints: at least 50 each (Hypothesis draws the earlier ones more often)
JSON_ENDPOINTS = [
    Endpoint("/merchant/1/read", ("POST",), ("code", "amount", "payment_id"), ("anonymous", "owner")),
    Endpoint("/merchant/1/payments.json", ("GET",), (), ("anonymous", "owner")),
    Endpoint("/code/unknown-token/status", ("GET",), (), ("anonymous", "owner")),
    Endpoint("/backchannel-logout/", ("POST",), ("logout_token",)),
    Endpoint("/.well-known/jwks.json", ("GET",)),
    # The API for linked services without a token (the verifier's refusals come first); with real exchanged tokens
    # and bad bodies: tests/interop/test_health_points_link.py.
    Endpoint("/api/v1/credits", ("POST",), ("transfer_id", "amount", "memo")),
    Endpoint("/api/v1/wallet", ("GET",)),
]
ROUTE_OF = {
    "/merchant/1/read": "/merchant/<int:merchant_id>/read",
    "/merchant/1/payments.json": "/merchant/<int:merchant_id>/payments.json",
    "/code/unknown-token/status": "/code/<str:token>/status",
}
API_PREFIXES = ("/admin/", "/i18n/")
NOT_JSON = {
    "/healthz", "/readyz", "/", "/login/", "/callback/", "/logout/", "/logged-out/", "/charge/",
    "/pay/<str:qr_token>/", "/code/", "/code/<str:token>/", "/code/<str:token>/confirm",
    "/benefits/<int:programme_id>/claim/", "/merchant/register/", "/merchant/<int:merchant_id>/",
    "/merchant/<int:merchant_id>/terminal/", "/merchant/<int:merchant_id>/refund/<str:payment_id>/",
    "/merchant/<int:merchant_id>/statement.csv", "/issuer/", "/issuer/analytics/",
    "/issuer/analytics/<str:name>.csv", "/issuer/analytics/<str:name>.svg",
    "/send/", "/receive/", "/merchant/<int:merchant_id>/pay/",  # forms: test_p2p.py, test_circulation.py
}  # fmt: skip


@pytest.fixture
def issuer() -> Iterator[str]:
    """An issuer's discovery document and JWKS (a key of its own) over HTTP: the API's verifier checks tokens
    against them, so a generated token is refused for its signature, never for an unreachable idp."""
    key = ECKey.generate_key("P-256", private=True)
    documents: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    documents["/.well-known/openid-configuration"] = json.dumps({"issuer": url, "jwks_uri": f"{url}/jwks"}).encode()
    documents["/jwks"] = json.dumps({"keys": [{**key.as_dict(private=False), "kid": "k"}]}).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield url
    finally:
        server.shutdown()


@pytest.fixture
def contexts(db: None, issuer: str) -> dict[str, Any]:
    from anchorid.common.rp import setup as rp_setup
    from anchorid.common.settings_base import DATA_DIR
    from anchorid.currency import api, login

    rp_setup.ensure_keys(DATA_DIR)  # the currency set up (its API's verifier is its relying-party client)
    rp_setup.write_config(DATA_DIR, issuer=issuer, origin="http://testserver", client_id="currency",
                          scope="openid", claims={})  # fmt: skip
    login.client.cache_clear()
    api.resource_server.cache_clear()
    member = service.join("owner-sub", RESIDENT)
    merchant = service.register_merchant(member.sub, "鎌倉パン", "food")
    # The endpoints name merchant 1 (PostgreSQL's sequences are not reset between tests)
    Merchant.objects.filter(pk=merchant.pk).update(id=1)
    service.approve_merchant(Merchant.objects.get(pk=1))
    service.charge(member, 1_000, "c1")
    session = SessionStore()
    session[LOGIN_KEY] = {"sub": member.sub, "claims": RESIDENT, "id_token": "x"}
    session.create()
    csrf = secrets.token_hex(16)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={session.session_key}; {django_settings.CSRF_COOKIE_NAME}={csrf}"
    return {"anonymous": {}, "owner": {"Cookie": cookie, "X-CSRFToken": csrf}}


def _wsgi() -> Any:
    from anchorid.currency.wsgi import application

    return application


def test_it_lists_every_json_endpoint_of_the_urlconf() -> None:
    fuzzed = {ROUTE_OF.get(e.path, e.path) for e in JSON_ENDPOINTS}
    routes = {r for r in url_patterns("anchorid.currency.urls") if not r.startswith(API_PREFIXES)}
    assert routes - fuzzed - NOT_JSON == set(), "new routes: fuzz them here, or name them in NOT_JSON"


def test_it_answers_a_deeply_nested_read_with_invalid_request(contexts: dict[str, Any]) -> None:
    request = FuzzRequest("POST", "/merchant/1/read", b"[" * 3_000, "application/json", dict(contexts["owner"]))
    before = row_counts()
    answer = call(_wsgi(), request)
    check(answer, request)
    assert answer.status == 400
    assert row_counts() == before
    form = FuzzRequest("POST", "/backchannel-logout/", b"logout_token=", FORM)
    assert call(_wsgi(), form).status == 400


def test_it_never_answers_a_5xx_to_generated_requests(contexts: dict[str, Any]) -> None:
    counts = run(_wsgi(), JSON_ENDPOINTS, contexts, EXAMPLES)
    print("fuzz:", dict(counts))
    assert counts["requests"] >= EXAMPLES
    assert all(counts[endpoint.path] >= 50 for endpoint in JSON_ENDPOINTS), counts
