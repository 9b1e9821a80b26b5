"""The whole authorization code flow: PAR + PKCE + private_key_jwt + DPoP → tokens → userinfo."""

from __future__ import annotations

from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import KeySet

from .oidc_support import ISSUER, decode, exchange, logged_in, provider, register, resident, run_flow

__all__ = ["provider"]


def test_it_publishes_discovery_and_jwks(provider: None) -> None:
    http = HttpClient()
    metadata = http.get("/.well-known/openid-configuration").json()
    assert metadata["issuer"] == ISSUER
    assert metadata["pushed_authorization_request_endpoint"] == ISSUER + "/oidc/par"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    keys = http.get("/oidc/jwks").json()["keys"]
    assert {k["alg"] for k in keys} == {"ES256"}
    assert len(keys) == 2


def test_it_runs_the_full_flow(provider: None) -> None:
    rp, _client = register()
    account = resident()
    flow = run_flow(rp, logged_in(account), scope="openid profile address")
    assert flow.location.startswith(rp.redirect_uri + "?")
    assert f"iss={ISSUER.replace(':', '%3A').replace('/', '%2F')}" in flow.location
    response = exchange(flow)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    keyset = KeySet.import_key_set(HttpClient().get("/oidc/jwks").json())
    id_token = jwt.decode(body["id_token"], keyset, algorithms=["ES256"]).claims
    assert id_token["aud"] == rp.client_id
    assert id_token["iss"] == ISSUER
    assert id_token["acr"] == "urn:anchorid:acr:ial3-aal2"
    assert id_token["sub"] != str(account.pk)
    access = decode(body["access_token"])
    assert access["cnf"]["jkt"] == rp.dpop_key.thumbprint()
    info = HttpClient().get(
        "/oidc/userinfo",
        headers={
            "Authorization": "DPoP " + body["access_token"],
            "DPoP": rp.proof("GET", ISSUER + "/oidc/userinfo", access_token=body["access_token"]),
        },
    )
    assert info.status_code == 200, info.content
    claims = info.json()
    assert claims["sub"] == id_token["sub"]
    assert claims["name"] == "鎌倉　花子"
    assert claims["address"]["locality"] == "鎌倉市"
    assert claims["address"]["country"] == "JP"
