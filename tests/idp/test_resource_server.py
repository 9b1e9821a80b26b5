"""The services' side of a link: ``AnchorIDClient.exchange_token`` at a running idp (over HTTP), then
``ResourceServer.verify`` of the exchanged token — signature by the idp's JWKS, audience, DPoP proof, and
liveness by introspection at the idp with the service's own private_key_jwt."""

from __future__ import annotations

import json
import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import timezone
from joserfc.jwk import ECKey
from pytest_django.fixtures import Settings

from anchorid.common.rp.client import AnchorIDClient, ClientConfig, LoginError
from anchorid.common.rp.resource_server import ResourceServer, TokenRefused
from anchorid.idp.links import consents
from anchorid.idp.links.models import LinkConsent
from anchorid.idp.oidc import tokens
from anchorid.idp.oidc.models import Client, Grant
from anchorid.idp.oidc.pairwise import pairwise_subject

from .links_support import services
from .oidc_support import RelyingParty, provider, resident

__all__ = ["provider"]
pytestmark = pytest.mark.django_db(transaction=True)
API = "http://testserver/api/credit"


@pytest.fixture
def issuer(provider: None, live_server: Any, settings: Settings) -> str:
    """The idp answering over HTTP (a live server on the test database) at its own origin."""
    settings.ANCHORID_IDP_ORIGIN = live_server.url
    settings.ANCHORID_OIDC_DPOP_NONCE_REQUIRED = True
    return str(live_server.url)


def client_of(rp: RelyingParty, issuer: str) -> AnchorIDClient:
    key = ECKey.import_key({**rp.key.as_dict(private=True), "kid": "rp-1"})
    return AnchorIDClient(ClientConfig(issuer=issuer, client_id=rp.client_id, redirect_uri=rp.redirect_uri,
                                       client_key=key, dpop_key=rp.dpop_key))  # fmt: skip


def residents_token(rp: RelyingParty, account: Any) -> str:
    """What the source holds after the resident logged in there: its DPoP-bound access token (issued by the idp's
    own token code for a grant like the login makes)."""
    now = timezone.now()
    grant = Grant.objects.create(
        id=secrets.token_hex(16), client=Client.objects.get(client_id=rp.client_id), account=account,
        code_hash=secrets.token_hex(32), code_expires_at=now, code_used=True, redirect_uri=rp.redirect_uri,
        code_challenge="-", scope="openid", claims={}, acr="urn:anchorid:acr:derived", auth_time=now,
        dpop_jkt=rp.dpop_key.thumbprint(), refresh_generation=1, refresh_expires_at=now + timedelta(days=1),
    )  # fmt: skip
    token: str = tokens.token_response(grant.client, grant, with_id_token=False)["access_token"]
    return token


def api_request(token: str, proof: str | None, *, scheme: str = "DPoP") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return RequestFactory().post("/api/credit", **headers)  # type: ignore[arg-type]


def refused(call: Any, error: str, status: int = 401) -> TokenRefused:
    with pytest.raises(TokenRefused) as caught:
        call()
    assert (caught.value.error, caught.value.status) == (error, status), caught.value
    response = caught.value.response()
    assert response.status_code == status
    if status in (401, 403):
        assert response["WWW-Authenticate"].startswith(f'DPoP error="{error}"')
    return caught.value


def test_it_verifies_an_exchanged_token_and_refuses_every_misuse(issuer: str) -> None:
    s = services()
    hanako = resident()
    consent = consents.grant(hanako, s.health_to_currency)
    health, currency, library = client_of(s.health, issuer), client_of(s.currency, issuer), client_of(s.library, issuer)
    exchanged = health.exchange_token(subject_token=residents_token(s.health, hanako), audience="currency",
                                      scope="currency:credit")  # fmt: skip
    token = exchanged["access_token"]
    assert exchanged["token_type"] == "DPoP"
    rs = ResourceServer(currency)

    verified = rs.verify(api_request(token, health.dpop.proof("POST", API, access_token=token)), {"currency:credit"})
    assert verified.subject == pairwise_subject("currency.example", hanako.pk)
    assert verified.actor == "providersim-health"
    assert verified.scopes == frozenset({"currency:credit"})
    assert verified.authorization_details == [{"type": "anchorid_currency_credit", "max_yen_per_month": 500}]
    assert verified.link_id == consent.id

    proof = health.dpop.proof("POST", API, access_token=token)
    rs.verify(api_request(token, proof))
    refused(lambda: rs.verify(api_request(token, proof)), "invalid_dpop_proof")  # replayed proof
    refused(lambda: rs.verify(api_request(token, None)), "invalid_dpop_proof")  # missing proof
    other_key = ECKey.generate_key("P-256")
    thief = health.dpop.__class__(other_key)
    refused(lambda: rs.verify(api_request(token, thief.proof("POST", API, access_token=token))), "invalid_dpop_proof")
    refused(lambda: rs.verify(api_request(token, health.dpop.proof("GET", API, access_token=token))),
            "invalid_dpop_proof")  # fmt: skip
    refused(lambda: rs.verify(api_request(token, health.dpop.proof("POST", API + "/x", access_token=token))),
            "invalid_dpop_proof")  # fmt: skip
    refused(lambda: rs.verify(api_request(token, health.dpop.proof("POST", API), scheme="Bearer")), "invalid_token")
    refused(
        lambda: ResourceServer(library).verify(api_request(token, health.dpop.proof("POST", API, access_token=token))),
        "invalid_token",
    )  # fmt: skip  (another audience)
    refused(lambda: rs.verify(api_request(token, health.dpop.proof("POST", API, access_token=token)),
                              {"currency:balance"}), "insufficient_scope", 403)  # fmt: skip
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    refused(lambda: rs.verify(api_request(forged, health.dpop.proof("POST", API, access_token=forged))),
            "invalid_token")  # fmt: skip

    consents.withdraw(hanako, consent.id)
    refused(lambda: rs.verify(api_request(token, health.dpop.proof("POST", API, access_token=token))), "invalid_token")
    with pytest.raises(LoginError) as caught:
        health.exchange_token(subject_token=residents_token(s.health, hanako), audience="currency")
    assert caught.value.code == "invalid_grant"


def test_it_calls_a_linked_api_with_the_exchanged_token_over_http(issuer: str) -> None:
    """``AnchorIDClient.linked_request`` against a service whose handler is ``ResourceServer.verify``."""
    s = services()
    hanako = resident()
    consents.grant(hanako, s.health_to_currency)
    health, currency = client_of(s.health, issuer), client_of(s.currency, issuer)
    rs = ResourceServer(currency)

    class Api(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            request = RequestFactory().post(self.path, body, content_type="application/json",
                                            HTTP_AUTHORIZATION=self.headers.get("Authorization", ""),
                                            HTTP_DPOP=self.headers.get("DPoP", ""),
                                            HTTP_HOST=self.headers["Host"])  # fmt: skip
            try:
                verified = rs.verify(request, {"currency:credit"})
                status, answer = 200, {"sub": verified.subject, "actor": verified.actor, "got": json.loads(body)}
                extra = {}
            except TokenRefused as refusal:
                status, answer, extra = (
                    refusal.status,
                    {"error": refusal.error},
                    {"WWW-Authenticate": refusal.response()["WWW-Authenticate"]},
                )
            data = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **extra}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/credit"
        token = health.exchange_token(subject_token=residents_token(s.health, hanako), audience="currency")
        response = health.linked_request("POST", url, token, json={"points": 120})
        assert response.status_code == 200, response.text
        assert response.json() == {"sub": pairwise_subject("currency.example", hanako.pk),
                                   "actor": "providersim-health", "got": {"points": 120}}  # fmt: skip
        consents.withdraw(hanako, LinkConsent.objects.get().id)
        refused_call = health.linked_request("POST", url, token, json={"points": 120})
        assert refused_call.status_code == 401
        assert refused_call.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    finally:
        server.shutdown()
