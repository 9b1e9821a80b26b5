"""Back-Channel Logout through the outbox: sent at once when the client answers, retried by the delivery worker
when it does not (a fresh Logout Token each time), given up after the configured time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import KeySet

from anchorid.idp.oidc import jwks
from anchorid.idp.ssf import backchannel
from anchorid.idp.ssf.models import LogoutDelivery

from .oidc_support import exchange, logged_in, register, resident, run_flow
from .ssf_support import provider, ssf

__all__ = ["provider", "ssf"]


class _Client(BaseHTTPRequestHandler):
    status = 200
    received: list[str] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if self.status == 200:
            self.received.append(parse_qs(body)["logout_token"][0])
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def logout_endpoint() -> Iterator[str]:
    _Client.status, _Client.received = 200, []
    server = HTTPServer(("127.0.0.1", 0), _Client)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/backchannel"
    server.shutdown()
    server.server_close()


def _log_in_and_out(endpoint: str) -> str:
    rp, _ = register(backchannel_logout_uri=endpoint, redirect_uri="http://127.0.0.1/cb")
    browser = logged_in(resident())
    assert exchange(run_flow(rp, browser)).status_code == 200
    browser.post("/oidc/logout/confirm", {"params": "{}", "decision": "logout"})
    return rp.client_id


def test_it_delivers_at_once_when_the_client_answers(ssf: None, logout_endpoint: str) -> None:
    client_id = _log_in_and_out(logout_endpoint)
    (token,) = _Client.received
    claims = jwt.decode(token, KeySet.import_key_set(jwks.jwks_document()), algorithms=["ES256"]).claims  # type: ignore[arg-type]
    assert claims["aud"] == client_id
    assert LogoutDelivery.objects.get().state == "delivered"


def test_it_retries_a_logout_the_client_missed(ssf: None, logout_endpoint: str) -> None:
    _Client.status = 503
    _log_in_and_out(logout_endpoint)
    row = LogoutDelivery.objects.get()
    assert row.state == "pending"
    assert row.attempts == 1
    assert row.last_error == "HTTP 503"
    assert _Client.received == []
    _Client.status = 200
    deadline = time.monotonic() + 10
    while backchannel.retry_due() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    (token,) = _Client.received
    assert LogoutDelivery.objects.get().state == "delivered"
    assert jwt.decode(token, KeySet.import_key_set(jwks.jwks_document()), algorithms=["ES256"])  # type: ignore[arg-type]
    assert HttpClient().get("/oidc/jwks").status_code == 200


def test_it_gives_up_after_the_configured_time(
    ssf: None, logout_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHORID_BACKCHANNEL_LOGOUT_GIVE_UP", "0")
    _Client.status = 500
    _log_in_and_out(logout_endpoint)
    row = LogoutDelivery.objects.get()
    assert row.state == "dead"
    assert backchannel.retry_due() == 0
