"""A Shared Signals transmitter's published side for receiver tests: an HTTP server in the test process serving
an SSF configuration and a JWKS whose keys the test controls (rotation, a fetch counter, going down), and SETs
signed with those keys as the idp builds them. (The idp's own transmitter is used in tests/interop.)"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from anchorid.ssf_receiver import transmitter as transmitter_module
from anchorid.ssf_receiver.events import CLAIMS_CHANGE

NEW_ADDRESS = {"formatted": "神奈川県鎌倉市由比ガ浜二丁目3番4号", "region": "神奈川県", "locality": "鎌倉市",
               "street_address": "由比ガ浜二丁目3番4号", "country": "JP"}  # fmt: skip


def new_key(kid: str) -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    return ECKey.import_key({**key.as_dict(private=True), "kid": kid, "alg": "ES256", "use": "sig"})


@dataclass
class Transmitter:
    """The transmitter's published side: its configuration and keys, over real HTTP."""

    issuer: str = ""
    keys: list[ECKey] = field(default_factory=list)
    jwks_fetches: int = 0
    down: bool = False
    #: RFC 8936: SETs waiting for the poller (jti → SET) and every poll request body received.
    queue: dict[str, str] = field(default_factory=dict)
    poll_requests: list[dict[str, Any]] = field(default_factory=list)

    def sign(self, claims: dict[str, Any], *, key: ECKey | None = None, header: dict[str, Any] | None = None) -> str:
        key = key or self.keys[0]
        return jwt.encode({"alg": "ES256", "typ": "secevent+jwt", "kid": key.kid, **(header or {})}, claims, key)

    audience: str = ""

    def claims(self, **changes: Any) -> dict[str, Any]:
        """A CAEP claims-change SET for the receiver's subject ``sub-1``, as the idp builds it."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(16),
            "txn": secrets.token_hex(16),
            "sub_id": {"format": "iss_sub", "iss": self.issuer, "sub": "sub-1"},
            "events": {CLAIMS_CHANGE: {"event_timestamp": int(time.time()), "claims": {"address": NEW_ADDRESS}}},
        }
        claims.update(changes)
        return {key: value for key, value in claims.items() if value is not None}


def serve_transmitter(audience: str) -> Iterator[Transmitter]:
    """Serve a transmitter for SETs addressed to ``audience`` (use as a pytest fixture body)."""
    state = Transmitter(keys=[new_key("idp-1")], audience=audience)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if state.down:
                self.send_response(503)
                self.end_headers()
                return
            if self.path == "/.well-known/ssf-configuration":
                body: Any = {"issuer": state.issuer, "jwks_uri": f"{state.issuer}/jwks",
                             "delivery_methods_supported": ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"]}  # fmt: skip
            elif self.path == "/jwks":
                state.jwks_fetches += 1
                body = {"keys": [key.as_dict(private=False) for key in state.keys]}
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            """RFC 8936 §2.4 poll: drop acknowledged and reported SETs, answer up to maxEvents of the rest."""
            if self.path != "/poll":
                self.send_response(404)
                self.end_headers()
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.poll_requests.append(request)
            for jti in [*request.get("ack", []), *request.get("setErrs", {})]:
                state.queue.pop(jti, None)
            wanted = int(request.get("maxEvents", 10))
            sets = dict(list(state.queue.items())[:wanted])
            data = json.dumps({"sets": sets, "moreAvailable": len(state.queue) > len(sets)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    transmitter_module.forget_transmitters()
    try:
        yield state
    finally:
        server.shutdown()
        transmitter_module.forget_transmitters()
