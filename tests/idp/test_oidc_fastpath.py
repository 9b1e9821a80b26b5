"""The thin dispatch (anchorid.idp.oidc.fastpath): the JSON endpoints answered through the idp's WSGI entry point,
ahead of Django's middleware, with the same checks, error codes and security headers, and never a cookie."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.test import Client as HttpClient
from django.test import RequestFactory

from anchorid.idp.oidc.models import Grant

from .oidc_support import FORM, ISSUER, get_nonce, logged_in, provider, register, resident, run_flow

__all__ = ["provider"]


@dataclass
class WsgiResponse:
    status: int
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def wsgi(method: str, path: str, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
         **environ: Any) -> WsgiResponse:  # fmt: skip
    """One request through anchorid.idp.wsgi.application, as Granian would make it."""
    from anchorid.idp.wsgi import application

    factory = RequestFactory(**environ)
    if method == "POST":
        request = factory.post(path, urlencode(data or {}, doseq=True), content_type=FORM, headers=headers or {})
    else:
        request = factory.generic(method, path, headers=headers or {})
    started: list[Any] = []

    def start_response(status: str, header_list: list[tuple[str, str]]) -> None:
        started.extend([status, header_list])

    body = b"".join(application(request.environ, start_response))
    status, header_list = started
    return WsgiResponse(int(status.split()[0]), dict(header_list), header_list, body)


def _token(rp, form: dict[str, Any], proof: str | None = None, auth: dict[str, str] | None = None) -> WsgiResponse:  # type: ignore[no-untyped-def]
    headers = {"DPoP": proof or rp.proof("POST", ISSUER + "/oidc/token")}
    return wsgi("POST", "/oidc/token", {**(auth or rp.auth()), **form}, headers)


def _code_form(flow) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": flow.rp.redirect_uri,
        "code_verifier": flow.pkce.verifier,
    }


def test_it_the_json_endpoints_are_answered_before_the_middleware() -> None:
    from anchorid.idp.oidc import fastpath

    for path in ("/oidc/token", "/oidc/par", "/oidc/userinfo", "/oidc/introspect", "/oidc/revoke", "/oidc/jwks"):
        assert fastpath.handles(path)
    assert fastpath.handles("/.well-known/openid-configuration")
    for path in ("/oidc/authorize", "/oidc/authorize/consent", "/oidc/logout", "/me/", "/oidc/token/"):
        assert not fastpath.handles(path)


def test_it_a_code_exchange_through_the_thin_dispatch(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    response = _token(rp, _code_form(flow))
    assert response.status == 200, response.body
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["DPoP-Nonce"]
    assert response.headers["Content-Type"] == "application/json"
    # What the middleware would have added, and no cookie of any kind.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert not any(name.lower() == "set-cookie" for name, _ in response.header_list)
    # userinfo through the same path, with the DPoP-bound token.
    info = wsgi(
        "GET",
        "/oidc/userinfo",
        headers={
            "Authorization": "DPoP " + body["access_token"],
            "DPoP": rp.proof("GET", ISSUER + "/oidc/userinfo", access_token=body["access_token"]),
        },
    )
    assert info.status == 200, info.body
    assert info.json()["sub"]


def test_it_code_reuse_through_the_thin_dispatch_revokes(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    assert _token(rp, _code_form(flow)).status == 200
    again = _token(rp, _code_form(flow))
    assert again.status == 400
    assert again.json()["error"] == "invalid_grant"
    assert Grant.objects.get().revoked_reason == "code_reuse"


def test_it_a_refused_exchange_leaves_the_code_usable(provider: None) -> None:
    """The one-statement exchange uses the code up only when every check holds (as the check-by-check path did)."""
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    wrong = _token(rp, {**_code_form(flow), "code_verifier": "x" * 64})
    assert wrong.json()["error"] == "invalid_grant"
    other_redirect = _token(rp, {**_code_form(flow), "redirect_uri": "https://city.example/other"})
    assert other_redirect.json()["error"] == "invalid_grant"
    assert not Grant.objects.get().code_used
    assert _token(rp, _code_form(flow)).status == 200


def test_it_dpop_nonce_and_proof_checks_hold(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    nonce = rp.nonce
    rp.nonce = None
    without_nonce = _token(rp, _code_form(flow))
    assert without_nonce.status == 400
    assert without_nonce.json()["error"] == "use_dpop_nonce"
    assert without_nonce.headers["DPoP-Nonce"]
    rp.nonce = nonce
    wrong_htu = _token(rp, _code_form(flow), proof=rp.proof("POST", ISSUER + "/oidc/par"))
    assert wrong_htu.json()["error"] == "invalid_dpop_proof"
    no_proof = wsgi("POST", "/oidc/token", {**rp.auth(), **_code_form(flow)})
    assert no_proof.json()["error"] == "invalid_dpop_proof"
    proof = rp.proof("POST", ISSUER + "/oidc/token")
    assert _token(rp, _code_form(flow), proof=proof).status == 200
    replayed = _token(rp, {"grant_type": "refresh_token", "refresh_token": "rt1.x.1.y"}, proof=proof)
    assert replayed.status == 400
    assert replayed.json()["error"] == "invalid_dpop_proof"
    assert "replay" in replayed.json()["error_description"]


def test_it_client_assertion_replay_is_invalid_client(provider: None) -> None:
    rp, _ = register()
    get_nonce(HttpClient(), rp)
    auth = rp.auth()
    first = _token(rp, {"grant_type": "refresh_token", "refresh_token": "rt1.x.1.y"}, auth=auth)
    assert first.json()["error"] == "invalid_grant"  # authenticated; the token is what is wrong
    second = _token(rp, {"grant_type": "refresh_token", "refresh_token": "rt1.x.1.y"}, auth=auth)
    assert second.status == 401
    assert second.json()["error"] == "invalid_client"


def test_it_an_assertion_sent_with_a_bad_proof_is_used_up(provider: None) -> None:
    """Recording both jtis in one statement keeps the order of the checks: a refused proof still uses up the
    assertion, and a replayed assertion is invalid_client even when the proof is bad too."""
    rp, _ = register()
    get_nonce(HttpClient(), rp)
    auth = rp.auth()
    form = {"grant_type": "refresh_token", "refresh_token": "rt1.x.1.y"}
    bad_proof = rp.proof("POST", ISSUER + "/oidc/userinfo")
    assert _token(rp, form, proof=bad_proof, auth=auth).json()["error"] == "invalid_dpop_proof"
    again = _token(rp, form, proof=rp.proof("POST", ISSUER + "/oidc/userinfo"), auth=auth)
    assert again.status == 401
    assert again.json()["error"] == "invalid_client"
    assert _token(rp, form, auth=auth).json()["error"] == "invalid_client"


def test_it_par_through_the_thin_dispatch(provider: None) -> None:
    rp, _ = register()
    get_nonce(HttpClient(), rp)
    from .oidc_support import Pkce

    body = {
        "client_id": rp.client_id,
        "response_type": "code",
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile",
        "code_challenge": Pkce().challenge,
        "code_challenge_method": "S256",
        **rp.auth(),
    }
    pushed = wsgi("POST", "/oidc/par", body, {"DPoP": rp.proof("POST", ISSUER + "/oidc/par")})
    assert pushed.status == 201, pushed.body
    assert pushed.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert not any(name.lower() == "set-cookie" for name, _ in pushed.header_list)
    unregistered = wsgi("POST", "/oidc/par", {**body, **rp.auth(), "redirect_uri": "https://evil.example/cb"})
    assert unregistered.status == 400
    assert unregistered.json()["error"] == "invalid_request"


def test_it_errors_are_json_with_the_spec_codes(provider: None) -> None:
    rp, _ = register()
    get_nonce(HttpClient(), rp)
    assert wsgi("GET", "/oidc/token").status == 405
    unsupported = _token(rp, {"grant_type": "password"})
    assert unsupported.json()["error"] == "unsupported_grant_type"
    unknown = wsgi("POST", "/oidc/token", {"grant_type": "authorization_code", "client_id": "nobody"})
    assert unknown.status == 401
    assert unknown.json()["error"] == "invalid_client"
    bad_host = wsgi("POST", "/oidc/token", {"grant_type": "x"}, SERVER_NAME="evil.example", HTTP_HOST="evil.example")
    assert bad_host.status == 400
    assert bad_host.json()["error"] == "invalid_request"
    no_token = wsgi("GET", "/oidc/userinfo")
    assert no_token.status == 401
    assert no_token.headers["WWW-Authenticate"].startswith("DPoP")


def test_it_metadata_and_jwks_through_the_thin_dispatch(provider: None) -> None:
    metadata = wsgi("GET", "/.well-known/openid-configuration")
    assert metadata.status == 200
    assert metadata.json()["issuer"] == ISSUER
    keys = wsgi("GET", "/oidc/jwks")
    assert keys.status == 200
    assert keys.json()["keys"]
    assert keys.headers["Cache-Control"].startswith("public")


def test_it_refresh_through_the_thin_dispatch_checks_the_account(provider: None) -> None:
    rp, _ = register()
    account = resident()
    flow = run_flow(rp, logged_in(account))
    tokens = _token(rp, _code_form(flow)).json()
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = _token(rp, form)
    assert refreshed.status == 200, refreshed.body
    assert refreshed.json()["refresh_token"] == tokens["refresh_token"]  # confidential client: not rotated
    account.status = account.Status.SUSPENDED
    account.save()
    refused = _token(rp, form)
    assert refused.status == 400
    assert refused.json()["error"] == "invalid_grant"


def test_it_every_test_client_goes_through_the_production_wsgi_application(
    provider: None, monkeypatch: Any, client: HttpClient
) -> None:
    """The OIDC tests exercise what production runs: the JSON endpoints answered by anchorid.idp.wsgi's thin
    dispatch (issue #11), whichever test client makes the request."""
    from anchorid.idp.oidc import fastpath

    answered: list[str] = []
    original = fastpath.application

    def spy(environ: dict[str, Any], start_response: Any) -> Any:
        answered.append(environ["PATH_INFO"])
        return original(environ, start_response)

    monkeypatch.setattr(fastpath, "application", spy)
    rp, _ = register()
    get_nonce(HttpClient(), rp)  # the helpers' client (PAR)
    assert HttpClient().get("/oidc/jwks").status_code == 200  # a plain django.test.Client
    assert client.get("/.well-known/openid-configuration").status_code == 200  # pytest-django's client fixture
    assert client.get("/oidc/authorize").status_code == 400  # not a thin-dispatch path: the full stack
    assert answered == ["/oidc/par", "/oidc/jwks", "/.well-known/openid-configuration"]
