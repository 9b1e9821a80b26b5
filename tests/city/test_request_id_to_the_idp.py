"""A relying party's calls to the idp carry the request id of the request that made them (``X-Request-ID``): the
discovery and JWKS fetches (``AnchorIDClient.http``) and the OAuth calls (``DPoPOAuth2Session``), checked against a
local HTTP server standing in for the idp."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc.jwk import ECKey

from anchorid.common import request_id
from anchorid.common.rp.client import AnchorIDClient, ClientConfig


@pytest.fixture
def issuer() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({name.lower(): value for name, value in self.headers.items()})
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            key = ECKey.generate_key("P-256").as_dict(private=False)
            document: dict[str, Any] = {"issuer": base, "keys": [key]}
            for name in ("token_endpoint", "pushed_authorization_request_endpoint", "userinfo_endpoint"):
                document[name] = f"{base}/oidc/{name}"
            document["jwks_uri"] = f"{base}/oidc/jwks"
            payload = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_it_sends_the_request_id_with_every_call_to_the_idp(issuer: tuple[str, list[dict[str, str]]]) -> None:
    url, seen = issuer
    config = ClientConfig(
        issuer=url,
        client_id="city",
        redirect_uri="http://city.example/cb",
        client_key=ECKey.generate_key("P-256"),
        dpop_key=ECKey.generate_key("P-256"),
    )
    client = AnchorIDClient(config)
    with request_id.bound("city-request-0123456789"):
        client.jwks()  # discovery, then the JWKS
        client.oauth_session().get(f"{url}/oidc/userinfo_endpoint", withhold_token=True)
    client.oauth_session().get(f"{url}/oidc/userinfo_endpoint", withhold_token=True)  # outside a request: no id
    assert [headers.get("x-request-id") for headers in seen] == ["city-request-0123456789"] * 3 + [None]
