"""The whole authorization code flow: PAR + PKCE + private_key_jwt + DPoP → tokens → userinfo."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import KeySet

from anchorid.idp.oidc import clients, jwks
from anchorid.idp.oidc.models import Client

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


def test_it_lists_rs256_for_id_tokens_as_discovery_requires(provider: None) -> None:
    """OIDC Discovery §3: RS256 MUST be in id_token_signing_alg_values_supported; client authentication, DPoP and
    access tokens stay ES256/PS256 (FAPI 2.0 §5.4)."""
    metadata = HttpClient().get("/.well-known/openid-configuration").json()
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert "ES256" in metadata["id_token_signing_alg_values_supported"]
    for name in ("token_endpoint_auth_signing_alg_values_supported", "dpop_signing_alg_values_supported"):
        assert "RS256" not in metadata[name]


def test_it_signs_id_tokens_with_rs256_for_a_simple_client_that_asks(provider: None) -> None:
    rp, _client = register("legacy-rp", redirect_uri="https://legacy.example/cb", profile="simple",
                           id_token_alg="RS256")  # fmt: skip
    body = exchange(run_flow(rp, logged_in(resident()))).json()
    published = HttpClient().get("/oidc/jwks").json()
    rs256 = [k for k in published["keys"] if k["alg"] == "RS256"]
    assert rs256
    assert {k["kty"] for k in rs256} == {"RSA"}
    ps256_kids = {k["kid"] for k in published["keys"] if k["alg"] == "PS256"}
    assert not ps256_kids & {k["kid"] for k in rs256}  # its own key, never shared with PS256
    header = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256"
    id_token = jwt.decode(body["id_token"], KeySet.import_key_set(published), algorithms=["RS256"]).claims
    assert id_token["aud"] == "legacy-rp"
    decoded = jwt.decode(body["access_token"], KeySet.import_key_set(published), algorithms=["ES256"])
    assert decoded.header["alg"] == "ES256"  # access tokens are not affected
    assert jwks.verify_own_token(body["id_token"])[1]["sub"] == id_token["sub"]  # e.g. as id_token_hint


def test_it_refuses_rs256_for_fapi_clients(provider: None) -> None:
    with pytest.raises(clients.RegistrationError, match="FAPI"):
        register("fapi-rp", id_token_alg="RS256")
    assert not Client.objects.filter(client_id="fapi-rp").exists()
