"""Shared by the Shared Signals tests: the provider with SSF settings for local receivers, a client's
client_credentials token, connected residents, and a real HTTP receiver (threaded ``http.server``) that verifies
each SET with joserfc against the idp's published JWKS and applies each jti once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import KeySet
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account
from anchorid.idp.oidc.models import Client, ConsentDecision
from anchorid.idp.ssf.models import AddressForwarding

from .oidc_support import ISSUER, RelyingParty, get_nonce, provider, register, resident, token_request

__all__ = ["ISSUER", "provider", "register", "resident"]

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"


@pytest.fixture
def ssf(provider: None, settings: Settings) -> None:
    """The provider, with push endpoints on this machine allowed (as in the demo) and quick retries."""
    settings.ANCHORID_SSF_ALLOW_INSECURE_HTTP = "1"
    settings.ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS = "1"
    settings.ANCHORID_SSF_RETRY_BASE = "0.05"
    settings.ANCHORID_SSF_RETRY_MAX = "0.2"
    settings.ANCHORID_SSF_PUSH_TIMEOUT = "5"
    settings.ANCHORID_SSF_LONG_POLL_SECONDS = "0.5"


def cc_token(rp: RelyingParty, scope: str | None = "ssf.manage ssf.read", *, dpop: bool = False) -> Any:
    """The token endpoint's answer to a client_credentials request by ``rp``."""
    http = HttpClient()
    if dpop and rp.nonce is None:
        get_nonce(http, rp)
    form: dict[str, Any] = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    return token_request(http, rp, form, dpop=dpop)


def bearer(rp: RelyingParty, scope: str = "ssf.manage ssf.read") -> dict[str, str]:
    response = cc_token(rp, scope)
    assert response.status_code == 200, response.content
    return {"Authorization": "Bearer " + response.json()["access_token"]}


def api(method: str, path: str, headers: dict[str, str], body: Any = None, **query: str) -> Any:
    http = HttpClient()
    if query:
        from urllib.parse import urlencode

        path += "?" + urlencode(query)
    data = json.dumps(body) if body is not None else ""
    return http.generic(method, path, data, content_type="application/json", headers=headers)


def connect(account: Account, client: Client, *, claims: tuple[str, ...] = ("address",), forward: bool = True) -> None:
    """The resident consented to give ``claims`` to ``client`` (which then holds a pairwise sub) and ticked it
    for address forwarding."""
    for claim in claims:
        ConsentDecision.objects.update_or_create(
            account=account, client=client, claim=claim, defaults={"granted": True}
        )
    AddressForwarding.objects.update_or_create(account=account, client=client, defaults={"forward": forward})


@dataclass
class Receiver:
    """A push receiver (RFC 8935) on 127.0.0.1: verifies the signature (joserfc, the idp's JWKS), the issuer and
    audience; answers 202, or 400 with an RFC 8935 err; dedupes by jti (byte-identical again → 202, not applied
    again; another SET with a known jti → 400 invalid_request)."""

    audience: str
    jwks: dict[str, Any]
    issuer: str = ISSUER
    mode: str = "up"  # up | down (503) | refuse (400 invalid_key)
    delay: float = 0.0
    applied: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, bytes] = field(default_factory=dict)
    duplicates: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/events"

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | None]:
        self.requests.append(headers)
        if self.mode == "down":
            return 503, None
        if self.mode == "refuse":
            return 400, {"err": "invalid_key", "description": "test receiver refuses"}
        if headers.get("content-type") != "application/secevent+jwt":
            return 400, {"err": "invalid_request", "description": "wrong content type"}
        try:
            token = jwt.decode(body.decode(), KeySet.import_key_set(self.jwks), algorithms=["ES256"])  # type: ignore[arg-type]
        except Exception:
            return 400, {"err": "invalid_key", "description": "bad signature"}
        claims = token.claims
        if token.header.get("typ") != "secevent+jwt" or claims.get("iss") != self.issuer:
            return 400, {"err": "invalid_issuer", "description": "not our issuer"}
        if claims.get("aud") != self.audience:
            return 400, {"err": "invalid_audience", "description": "not for us"}
        with self.lock:
            jti = claims["jti"]
            if jti in self.seen:
                if self.seen[jti] == body:
                    self.duplicates += 1
                    return 202, None
                return 400, {"err": "invalid_request", "description": "jti already used"}
            self.seen[jti] = body
            self.applied.append(claims)
        return 202, None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, document = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
                payload = json.dumps(document).encode() if document is not None else b""
                self.send_response(status)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    started: list[Receiver] = []

    def start(audience: str) -> Receiver:
        from anchorid.idp.oidc import jwks

        receiver = Receiver(audience=audience, jwks=jwks.jwks_document())
        receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def push_stream(rp: RelyingParty, url: str, **extra: Any) -> dict[str, Any]:
    response = api("POST", "/ssf/streams", bearer(rp), {"delivery": {"method": PUSH, "endpoint_url": url}, **extra})
    assert response.status_code == 201, response.content
    document: dict[str, Any] = response.json()
    return document


def resident_with(handle: str = "resident-1") -> Account:
    return resident(handle)
