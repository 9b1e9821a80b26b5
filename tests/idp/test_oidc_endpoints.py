"""Introspection (RFC 7662), revocation (RFC 7009), logout (RP-Initiated + Back-Channel), key rotation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import KeySet

from anchorid.idp.oidc import jwks
from anchorid.idp.oidc.logout import BACKCHANNEL_EVENT

from .oidc_support import decode, exchange, logged_in, post_form, provider, register, resident, run_flow

__all__ = ["provider"]


def _tokens(rp: Any, browser: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = exchange(run_flow(rp, browser or logged_in(resident()))).json()
    return result


def test_it_introspection_describes_live_tokens_to_their_client_only(provider: None) -> None:
    rp, _ = register()
    other, _ = register("other", redirect_uri="https://other.example/cb")
    tokens = _tokens(rp)
    answer = post_form(HttpClient(), "/oidc/introspect", {"token": tokens["access_token"], **rp.auth()}).json()
    assert answer["active"] is True
    assert answer["client_id"] == rp.client_id
    assert answer["cnf"]["jkt"]
    refresh = post_form(HttpClient(), "/oidc/introspect", {"token": tokens["refresh_token"], **rp.auth()}).json()
    assert refresh["active"] is True
    assert refresh["token_type"] == "refresh_token"
    foreign = post_form(HttpClient(), "/oidc/introspect", {"token": tokens["access_token"], **other.auth()}).json()
    assert foreign == {"active": False}
    garbage = post_form(HttpClient(), "/oidc/introspect", {"token": "nonsense", **rp.auth()}).json()
    assert garbage == {"active": False}


def test_it_introspection_needs_an_authenticated_client(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    response = post_form(HttpClient(), "/oidc/introspect", {"token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_it_revocation_revokes_the_grant_and_answers_200_for_unknown_tokens(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    assert post_form(HttpClient(), "/oidc/revoke", {"token": "unknown", **rp.auth()}).status_code == 200
    form = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token", **rp.auth()}
    response = post_form(HttpClient(), "/oidc/revoke", form)
    assert response.status_code == 200
    answer = post_form(HttpClient(), "/oidc/introspect", {"token": tokens["access_token"], **rp.auth()}).json()
    assert answer == {"active": False}


def test_it_revocation_ignores_another_clients_token(provider: None) -> None:
    rp, _ = register()
    other, _ = register("other", redirect_uri="https://other.example/cb")
    tokens = _tokens(rp)
    assert post_form(HttpClient(), "/oidc/revoke", {"token": tokens["access_token"], **other.auth()}).status_code == 200
    answer = post_form(HttpClient(), "/oidc/introspect", {"token": tokens["access_token"], **rp.auth()}).json()
    assert answer["active"] is True


class _Receiver(BaseHTTPRequestHandler):
    received: list[str] = []  # noqa: RUF012

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(parse_qs(self.rfile.read(length).decode())["logout_token"][0])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/backchannel"
    server.shutdown()


def test_it_rp_initiated_logout_ends_the_session_and_notifies_the_client(provider: None, receiver: str) -> None:
    rp, _ = register(backchannel_logout_uri=receiver, redirect_uri="http://127.0.0.1/cb",
                     post_logout_redirect_uris=["http://127.0.0.1/bye"])  # fmt: skip
    browser = logged_in(resident())
    tokens = _tokens(rp, browser)
    sid = decode(tokens["id_token"])["sid"]
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://127.0.0.1/bye", "state": "z"}
    response = browser.get("/oidc/logout?" + urlencode(params))
    assert response.status_code == 302
    assert response["Location"] == "http://127.0.0.1/bye?state=z"
    assert browser.get("/me/").status_code == 302  # logged out
    (token,) = _Receiver.received
    keyset = KeySet.import_key_set(HttpClient().get("/oidc/jwks").json())
    claims = jwt.decode(token, keyset, algorithms=["ES256"]).claims
    assert claims["sid"] == sid
    assert claims["aud"] == rp.client_id
    assert BACKCHANNEL_EVENT in claims["events"]
    assert "nonce" not in claims
    assert claims["sub"] == decode(tokens["id_token"])["sub"]


def test_it_logout_never_redirects_to_an_unregistered_uri(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    tokens = _tokens(rp, browser)
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"}
    response = browser.get("/oidc/logout?" + urlencode(params))
    assert response.status_code == 200
    assert "Location" not in response
    assert b"You are logged out" in response.content or "ログアウト".encode() in response.content


def test_it_logout_without_hint_asks_first(provider: None) -> None:
    browser = logged_in(resident())
    page = browser.get("/oidc/logout")
    assert page.status_code == 200
    assert b"oidc/logout/confirm" in page.content
    assert browser.get("/me/").status_code == 200  # still logged in
    browser.post("/oidc/logout/confirm", {"decision": "logout", "params": "{}"})
    assert browser.get("/me/").status_code == 302


def test_it_rotation_publishes_the_next_key_before_it_signs(provider: None) -> None:
    rp, _ = register()
    before = {k["kid"] for k in HttpClient().get("/oidc/jwks").json()["keys"]}
    signing_before = jwks.signing_key().kid
    following = (set(before) - {signing_before}).pop()
    jwks.rotate()
    after = {k["kid"] for k in HttpClient().get("/oidc/jwks").json()["keys"]}
    assert jwks.signing_key().kid == following  # the key that was published ahead now signs
    assert signing_before in after  # the old one stays published until its tokens expire
    assert len(after) == 3
    tokens = _tokens(rp)
    from joserfc.jws import extract_compact

    assert extract_compact(tokens["id_token"].encode()).headers()["kid"] == following
