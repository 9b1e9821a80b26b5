"""DPoP (RFC 9449 §4.3, §7, §8, §11.1): one test per check."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client as HttpClient
from joserfc.jwk import ECKey

from anchorid.idp.oidc import dpop

from .oidc_support import ISSUER, b64url, exchange, logged_in, provider, register, resident, run_flow, token_request

__all__ = ["provider"]

TOKEN_URL = ISSUER + "/oidc/token"
USERINFO_URL = ISSUER + "/oidc/userinfo"


def _tokens(rp):  # type: ignore[no-untyped-def]
    return exchange(run_flow(rp, logged_in(resident()))).json()


def _refresh_with(rp, refresh_token, proof):  # type: ignore[no-untyped-def]
    return token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": refresh_token}, proof=proof)


def _userinfo(access_token, proof, scheme="DPoP"):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"{scheme} {access_token}"}
    if proof:
        headers["DPoP"] = proof
    return HttpClient().get("/oidc/userinfo", headers=headers)


def test_it_a_replayed_proof_is_refused(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    proof = rp.proof("POST", TOKEN_URL)
    assert _refresh_with(rp, tokens["refresh_token"], proof).status_code == 200
    replayed = _refresh_with(rp, tokens["refresh_token"], proof)
    assert replayed.json()["error"] == "invalid_dpop_proof"
    assert "replay" in replayed.json()["error_description"]


def test_it_a_proof_for_another_uri_is_refused(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    response = _refresh_with(rp, tokens["refresh_token"], rp.proof("POST", ISSUER + "/oidc/par"))
    assert response.json()["error"] == "invalid_dpop_proof"


def test_it_a_proof_for_another_method_is_refused(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    assert _refresh_with(rp, tokens["refresh_token"], rp.proof("GET", TOKEN_URL)).json()["error"] == (
        "invalid_dpop_proof"
    )


def test_it_a_stale_proof_is_refused(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    stale = rp.proof("POST", TOKEN_URL, iat=int(time.time()) - 600)
    future = rp.proof("POST", TOKEN_URL, iat=int(time.time()) + 600)
    assert _refresh_with(rp, tokens["refresh_token"], stale).json()["error"] == "invalid_dpop_proof"
    assert _refresh_with(rp, tokens["refresh_token"], future).json()["error"] == "invalid_dpop_proof"


def test_it_a_proof_without_nonce_gets_use_dpop_nonce_and_a_nonce(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    rp.nonce = None
    response = _refresh_with(rp, tokens["refresh_token"], rp.proof("POST", TOKEN_URL))
    assert response.status_code == 400
    assert response.json()["error"] == "use_dpop_nonce"
    assert dpop.nonce_is_fresh(response["DPoP-Nonce"])
    forged = _refresh_with(rp, tokens["refresh_token"], rp.proof("POST", TOKEN_URL, nonce="bm9wZQ"))
    assert forged.json()["error"] == "use_dpop_nonce"


def test_it_a_nonce_from_an_old_window_is_refused() -> None:
    old = dpop.current_nonce(time.time() - 3 * 300)
    assert not dpop.nonce_is_fresh(old)
    assert dpop.nonce_is_fresh(dpop.current_nonce(time.time() - 300))


def test_it_an_alg_none_proof_is_refused(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": rp.dpop_key.as_dict(private=False)}
    claims = {"jti": "none-proof-1", "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time()), "nonce": rp.nonce}
    unsigned = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode()) + "."
    assert _refresh_with(rp, tokens["refresh_token"], unsigned).json()["error"] == "invalid_dpop_proof"


def test_it_a_proof_with_a_private_key_in_its_header_is_refused(provider: None) -> None:
    rp, _ = register()
    from joserfc import jws

    claims = {"jti": "priv-1", "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())}
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": rp.dpop_key.as_dict(private=True)}
    proof = jws.serialize_compact(header, json.dumps(claims).encode(), rp.dpop_key, algorithms=["ES256"])
    with pytest.raises(dpop.DPoPError, match="public key"):
        dpop.verify_proof(proof, method="POST", uri=TOKEN_URL, require_nonce=False)


def test_it_userinfo_refuses_a_proof_from_another_key(provider: None) -> None:
    rp, _ = register()
    tokens = _tokens(rp)
    access = tokens["access_token"]
    other = rp.proof("GET", USERINFO_URL, key=ECKey.generate_key("P-256"), access_token=access)
    response = _userinfo(access, other)
    assert response.status_code == 401
    assert 'error="invalid_dpop_proof"' in response["WWW-Authenticate"]


def test_it_userinfo_refuses_a_wrong_ath(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    response = _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access + "x"))
    assert response.status_code == 401


def test_it_userinfo_refuses_a_dpop_token_as_bearer(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    response = _userinfo(access, None, scheme="Bearer")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_it_userinfo_asks_for_a_nonce(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    rp.nonce = None
    response = _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access))
    assert response.status_code == 401
    assert 'error="use_dpop_nonce"' in response["WWW-Authenticate"]
    assert response["DPoP-Nonce"]


def test_it_a_fapi_client_without_a_proof_is_refused(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
            "code_verifier": flow.pkce.verifier}  # fmt: skip
    assert token_request(HttpClient(), rp, form, dpop=False).json()["error"] == "invalid_dpop_proof"


def test_it_a_code_bound_at_par_needs_the_same_key(provider: None) -> None:
    from .oidc_support import Pkce, authorize_url, push, query

    rp, _ = register()
    browser = logged_in(resident())
    run_flow(rp, browser)  # consent, nonce
    pkce = Pkce()
    pushed = push(HttpClient(), rp, pkce, dpop_jkt=rp.dpop_key.thumbprint()).json()
    code = query(browser.get(authorize_url(rp, pushed["request_uri"]))["Location"])["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": pkce.verifier}  # fmt: skip
    other = rp.proof("POST", TOKEN_URL, key=ECKey.generate_key("P-256"))
    assert token_request(HttpClient(), rp, form, proof=other).json()["error"] == "invalid_dpop_proof"


def test_it_htu_comparison_ignores_query_and_default_port() -> None:
    assert dpop.normalize_htu("HTTPS://Id.Example:443/oidc/token?x=1#f") == "https://id.example/oidc/token"
