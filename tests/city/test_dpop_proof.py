"""RFC 9449 §4.2 and §8: the proofs the city's client sends, and its nonce retry (against a real local server)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from anchorid.common.rp.client import DPoPOAuth2Session, ShortLivedPrivateKeyJWT
from anchorid.common.rp.dpop import DPoPKey, access_token_hash


def decode(proof: str, key: ECKey) -> jwt.Token:
    return jwt.decode(proof, ECKey.import_key(key.as_dict(private=False)), algorithms=["ES256"])


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def test_it_has_the_header_rfc_9449_requires(key: ECKey) -> None:
    token = decode(DPoPKey(key).proof("post", "https://idp.test/token"), key)
    assert token.header["typ"] == "dpop+jwt"
    assert token.header["alg"] == "ES256"
    assert token.header["jwk"] == key.as_dict(private=False)
    assert "d" not in token.header["jwk"]


def test_it_names_the_method_and_the_uri_without_query_or_fragment(key: ECKey) -> None:
    claims = decode(DPoPKey(key).proof("get", "https://idp.test/userinfo?x=1#frag"), key).claims
    assert claims["htm"] == "GET"
    assert claims["htu"] == "https://idp.test/userinfo"
    assert isinstance(claims["iat"], int)


def test_it_uses_a_new_jti_every_time(key: ECKey) -> None:
    dpop = DPoPKey(key)
    jtis = {decode(dpop.proof("POST", "https://idp.test/token"), key).claims["jti"] for _ in range(20)}
    assert len(jtis) == 20


def test_it_binds_the_access_token_with_ath(key: ECKey) -> None:
    claims = decode(DPoPKey(key).proof("GET", "https://idp.test/userinfo", access_token="abc.def"), key).claims
    # RFC 9449 §4.2: base64url(SHA-256(ASCII(access token)))
    assert claims["ath"] == access_token_hash("abc.def")
    assert "ath" not in decode(DPoPKey(key).proof("POST", "https://idp.test/token"), key).claims


class NonceServer(ThreadingHTTPServer):
    """Demands a DPoP nonce first (RFC 9449 §8, ``use_dpop_nonce``), then records what it received."""

    nonce = "server-nonce-1"

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), NonceHandler)
        self.seen: list[dict[str, Any]] = []


class NonceHandler(BaseHTTPRequestHandler):
    server: NonceServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        proof = self.headers.get("DPoP", "")
        header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
        claims = jwt.decode(proof, ECKey.import_key(header["jwk"]), algorithms=["ES256"]).claims
        self.server.seen.append({"claims": claims, "body": body})
        if claims.get("nonce") != self.server.nonce:
            self.send_response(400)
            self.send_header("DPoP-Nonce", self.server.nonce)
            payload = json.dumps({"error": "use_dpop_nonce"}).encode()
        else:
            self.send_response(200)
            payload = json.dumps({"access_token": "t", "token_type": "DPoP", "expires_in": 60}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def nonce_server() -> Iterator[NonceServer]:
    server = NonceServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_it_retries_once_with_the_servers_nonce_and_a_fresh_client_assertion(
    nonce_server: NonceServer, key: ECKey
) -> None:
    url = f"http://127.0.0.1:{nonce_server.server_port}/token"
    dpop = DPoPKey(key)
    session = DPoPOAuth2Session(
        client_id="city",
        client_secret=ECKey.generate_key("P-256", private=True),
        token_endpoint_auth_method="private_key_jwt",
        dpop_key=dpop,
        dpop_endpoints={url},
    )
    session.register_client_auth_method(ShortLivedPrivateKeyJWT("http://issuer.test", "kid-1"))
    token = session.fetch_token(url, grant_type="client_credentials")
    assert token["token_type"] == "DPoP"
    first, second = nonce_server.seen
    assert "nonce" not in first["claims"]
    assert second["claims"]["nonce"] == NonceServer.nonce
    assert first["claims"]["jti"] != second["claims"]["jti"]
    assert first["body"] != second["body"]  # a new client assertion (its own jti) on the retry
    assert dpop.nonces == {f"http://127.0.0.1:{nonce_server.server_port}": NonceServer.nonce}
