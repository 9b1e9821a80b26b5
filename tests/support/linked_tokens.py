"""Exchanged tokens for a service's API tests without a running idp: the service's client knows an in-process
"idp" (its discovery document and signing key given, no network), tokens are signed with that key as the idp signs
them (RFC 9068 shape, docs/protocols/token-exchange.md §4), and proofs are made with a caller's DPoP key. The
introspection endpoint named in the metadata does not exist: a request that gets that far is answered 503 (the
idp cannot be reached) — the checks before it are what these tests exercise; the whole path runs against a real
idp in tests/interop/test_linked_home.py."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from django.test import Client
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from anchorid.common.rp.client import AnchorIDClient, ClientConfig
from anchorid.common.rp.dpop import DPoPKey
from anchorid.common.rp.resource_server import ResourceServer

ISSUER = "http://idp.invalid"


@dataclass
class LinkedWorld:
    """The service's client (audience ``client_id``), the idp's key, and a caller's DPoP key."""

    client: AnchorIDClient
    idp_key: ECKey
    caller: DPoPKey

    def token(self, *, key: ECKey | None = None, **overrides: Any) -> str:
        """An exchanged token for the service, bound to the caller's key; ``overrides`` replace claims (None
        removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": self.client.config.client_id, "client_id": "city", "act": {"sub": "city"},
            "scope": "library:loans participation:votes", "cnf": {"jkt": self.caller.thumbprint},
            "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 300, "lnk": "link-1",
        }  # fmt: skip
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode({"alg": "ES256", "kid": "idp-1", "typ": "at+jwt"}, claims, key or self.idp_key)

    def headers(self, url: str, token: str, *, method: str = "GET", proof_key: DPoPKey | None = None) -> dict[str, str]:
        proof = (proof_key or self.caller).proof(method, url, access_token=token)
        return {"Authorization": f"DPoP {token}", "DPoP": proof}


def linked_world(client_id: str) -> LinkedWorld:
    idp_key = ECKey.import_key({**ECKey.generate_key("P-256", private=True).as_dict(private=True), "kid": "idp-1"})
    config = ClientConfig(issuer=ISSUER, client_id=client_id, redirect_uri="http://testserver/callback/",
                          client_key=ECKey.generate_key("P-256", private=True),
                          dpop_key=ECKey.generate_key("P-256", private=True))  # fmt: skip
    client = AnchorIDClient(config)
    client._metadata = {"issuer": ISSUER, "token_endpoint": f"{ISSUER}/oidc/token",
                        "introspection_endpoint": f"{ISSUER}/oidc/introspect", "jwks_uri": f"{ISSUER}/oidc/jwks",
                        "pushed_authorization_request_endpoint": f"{ISSUER}/oidc/par"}  # fmt: skip
    client._jwks = KeySet([ECKey.import_key(idp_key.as_dict(private=False) | {"kid": "idp-1"})])
    return LinkedWorld(client, idp_key, DPoPKey(ECKey.generate_key("P-256", private=True)))


def refusals(world: LinkedWorld, url: str, get: Any) -> dict[str, Any]:
    """The same request refused in each way a caller can get it wrong before the idp is asked: ``get(headers)``
    sends it (a Django test client's GET) and returns the response; the answers by case."""
    good = world.token()
    other_key = DPoPKey(ECKey.generate_key("P-256", private=True))
    cases: dict[str, dict[str, str]] = {
        "no token": {},
        "bearer": {"Authorization": f"Bearer {good}"},
        "malformed": {"Authorization": "DPoP not-a-token", "DPoP": "x.y.z"},
        "another audience": world.headers(url, world.token(aud="currency")),
        "expired": world.headers(url, world.token(exp=int(time.time()) - 10)),
        "not bound": world.headers(url, world.token(cnf=None)),
        "no proof": {"Authorization": f"DPoP {good}"},
        "two proofs": {"Authorization": f"DPoP {good}",
                       "DPoP": world.caller.proof("GET", url, access_token=good) + ","
                       + world.caller.proof("GET", url, access_token=good)},
        "proof by another key": world.headers(url, good, proof_key=other_key),
        "proof for another URL": {"Authorization": f"DPoP {good}",
                                  "DPoP": world.caller.proof("GET", url + "x", access_token=good)},
        "proof for another method": {"Authorization": f"DPoP {good}",
                                     "DPoP": world.caller.proof("POST", url, access_token=good)},
        "proof for another token": {"Authorization": f"DPoP {good}",
                                    "DPoP": world.caller.proof("GET", url, access_token=world.token())},
    }  # fmt: skip
    return {case: get(headers) for case, headers in cases.items()}


class ReadApiRefusals:
    """What every party's read API for linked services refuses, as tests: mixed into a ``Test…`` class of the
    party's suite, which names the party's ``client_id``, the API module (its ``resource_server`` is replaced by
    one that trusts this in-process idp) and the endpoint's ``path``."""

    client_id: str
    api: ModuleType
    path: str

    @property
    def url(self) -> str:
        return "http://testserver" + self.path

    @pytest.fixture
    def world(self, monkeypatch: pytest.MonkeyPatch) -> LinkedWorld:
        made = linked_world(self.client_id)
        monkeypatch.setattr(self.api, "resource_server", lambda: ResourceServer(made.client, replay_cache="default"))
        return made

    def test_it_refuses_every_token_that_is_not_a_valid_exchanged_one_with_its_proof(
        self, client: Client, world: LinkedWorld
    ) -> None:
        answers = refusals(world, self.url, lambda headers: client.get(self.path, headers=headers))
        for case, response in answers.items():
            assert response.status_code == 401, case
            error = "invalid_dpop_proof" if "proof" in case else "invalid_token"
            assert response.json()["error"] == error, case
            assert response["WWW-Authenticate"].startswith(f'DPoP error="{error}"'), case
            assert "no-store" in response["Cache-Control"], case

    def test_it_refuses_a_replayed_proof_before_asking_the_idp(self, client: Client, world: LinkedWorld) -> None:
        """The first request passes every local check and asks the idp, which cannot be reached here: 503, never
        "active" on doubt. The same proof again is refused at once as replayed."""
        headers = world.headers(self.url, world.token())
        first = client.get(self.path, headers=headers)
        assert first.status_code == 503
        assert first.json()["error"] == "temporarily_unavailable"
        again = client.get(self.path, headers=headers)
        assert again.status_code == 401
        assert again.json() == {"error": "invalid_dpop_proof", "error_description": "this DPoP proof was used before"}

    def test_it_answers_only_get(self, client: Client, world: LinkedWorld) -> None:
        token = world.token()
        assert client.post(self.path, headers=world.headers(self.url, token, method="POST")).status_code == 405
