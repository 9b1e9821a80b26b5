"""The authorization endpoint and PAR: one test per MUST (RFC 6749, RFC 7636, RFC 9126, RFC 9207, FAPI 2.0)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.test import Client as HttpClient
from django.utils import timezone

from anchorid.idp.assurance import CARD_LOGIN
from anchorid.idp.oidc import par
from anchorid.idp.oidc.models import PushedRequest

from .oidc_support import (
    ISSUER,
    Pkce,
    authorize_url,
    get_nonce,
    logged_in,
    provider,
    push,
    query,
    register,
    resident,
    run_flow,
)

__all__ = ["provider"]


def _pushed(rp, **params):  # type: ignore[no-untyped-def]
    response = push(HttpClient(), rp, Pkce(), **params)
    assert response.status_code == 201, response.content
    return response.json()["request_uri"]


def test_it_refuses_an_unregistered_redirect_uri_at_par(provider: None) -> None:
    rp, _ = register()
    response = push(HttpClient(), rp, Pkce(), redirect_uri="https://city.example/callback/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_it_never_redirects_to_an_unregistered_redirect_uri(provider: None) -> None:
    rp, _ = register(profile="simple", require_par=False)
    params = {
        "client_id": rp.client_id, "response_type": "code", "scope": "openid", "redirect_uri": "https://evil.example/cb",
        "code_challenge": Pkce().challenge, "code_challenge_method": "S256", "state": "s",
    }  # fmt: skip
    response = logged_in(resident()).get("/oidc/authorize?" + urlencode(params))
    assert response.status_code == 400
    assert b"invalid_request" in response.content
    assert "Location" not in response


def test_it_shows_an_unknown_client_an_error_page(provider: None) -> None:
    response = HttpClient().get("/oidc/authorize?client_id=nobody&request_uri=urn:x")
    assert response.status_code == 400
    assert b"invalid_client" in response.content


def test_it_requires_pkce(provider: None) -> None:
    rp, _ = register()
    missing = push(HttpClient(), rp, Pkce(), code_challenge=None, code_challenge_method=None)
    assert missing.json()["error"] == "invalid_request"
    plain = push(HttpClient(), rp, Pkce(), code_challenge_method="plain")
    assert plain.json()["error"] == "invalid_request"


def test_it_refuses_a_request_uri_inside_par(provider: None) -> None:
    rp, _ = register()
    response = push(HttpClient(), rp, Pkce(), request_uri="urn:ietf:params:oauth:request_uri:abc")
    assert response.json()["error"] == "invalid_request"


def test_it_requires_par_for_fapi_clients_with_iss_in_the_error(provider: None) -> None:
    rp, _ = register()
    params = {
        "client_id": rp.client_id, "response_type": "code", "scope": "openid", "redirect_uri": rp.redirect_uri,
        "code_challenge": Pkce().challenge, "code_challenge_method": "S256", "state": "xyz",
    }  # fmt: skip
    response = HttpClient().get("/oidc/authorize?" + urlencode(params))
    assert response.status_code == 302
    values = query(response["Location"])
    assert values["error"] == "invalid_request"
    assert values["state"] == "xyz"
    assert values["iss"] == ISSUER


def test_it_refuses_an_expired_request_uri(provider: None) -> None:
    rp, _ = register()
    request_uri = _pushed(rp)
    PushedRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = logged_in(resident()).get(authorize_url(rp, request_uri))
    assert response.status_code == 400
    assert b"invalid_request_uri" in response.content


def test_it_refuses_a_used_request_uri(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    flow = run_flow(rp, browser)
    used = PushedRequest.objects.get().id
    response = browser.get(authorize_url(rp, "urn:ietf:params:oauth:request_uri:" + used))
    assert flow.code
    assert response.status_code == 400
    assert b"invalid_request_uri" in response.content


def test_it_refuses_another_clients_request_uri(provider: None) -> None:
    rp, _ = register()
    other, _ = register("other-service", redirect_uri="https://other.example/cb")
    request_uri = _pushed(rp)
    response = logged_in(resident()).get(authorize_url(other, request_uri))
    assert b"invalid_request_uri" in response.content


def test_it_refuses_claims_the_client_may_not_ask_for(provider: None) -> None:
    rp, _ = register(scopes=["openid", "profile"], claims=["name"])
    response = push(HttpClient(), rp, Pkce(), scope="openid", claims='{"userinfo": {"address": {"essential": true}}}')
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    scoped = push(HttpClient(), rp, Pkce(), scope="openid address")
    assert scoped.json()["error"] == "invalid_scope"


def test_it_refuses_other_response_types(provider: None) -> None:
    rp, _ = register()
    assert push(HttpClient(), rp, Pkce(), response_type="token").json()["error"] == "unsupported_response_type"


def test_it_sends_a_resident_without_session_to_login_and_back(provider: None) -> None:
    rp, _ = register()
    request_uri = _pushed(rp)
    response = HttpClient().get(authorize_url(rp, request_uri))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert "%2Foidc%2Fauthorize" in response["Location"]


def test_it_steps_up_to_the_card_when_asked(provider: None) -> None:
    rp, _ = register()
    request_uri = _pushed(rp, acr_values="urn:anchorid:acr:ial3-aal3-card")
    response = logged_in(resident()).get(authorize_url(rp, request_uri))
    assert response["Location"].startswith("/login/card/?next=")


def test_it_issues_card_acr_after_a_card_login(provider: None) -> None:
    from .oidc_support import decode, exchange

    rp, _ = register()
    flow = run_flow(rp, logged_in(resident(), CARD_LOGIN), acr_values="urn:anchorid:acr:ial3-aal3-card")
    id_token = decode(exchange(flow).json()["id_token"])
    assert id_token["acr"] == "urn:anchorid:acr:ial3-aal3-card"
    assert id_token["amr"] == ["sc", "pin"]


def test_it_prompt_none_answers_login_required(provider: None) -> None:
    rp, _ = register()
    request_uri = _pushed(rp, prompt="none", state="abc")
    response = HttpClient().get(authorize_url(rp, request_uri))
    values = query(response["Location"])
    assert values["error"] == "login_required"
    assert values["state"] == "abc"
    assert values["iss"] == ISSUER


def test_it_prompt_none_answers_consent_required(provider: None) -> None:
    rp, _ = register()
    request_uri = _pushed(rp, prompt="none")
    response = logged_in(resident()).get(authorize_url(rp, request_uri))
    assert query(response["Location"])["error"] == "consent_required"


def test_it_prompt_login_asks_again(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    run_flow(rp, browser)  # consent given
    import time

    time.sleep(1.05)  # auth_time has one-second resolution
    request_uri = _pushed(rp, prompt="login")
    response = browser.get(authorize_url(rp, request_uri))
    assert response["Location"].startswith("/login/?next=")


def test_it_declining_sends_access_denied(provider: None) -> None:
    rp, _ = register()
    get_nonce(HttpClient(), rp)
    request_uri = _pushed(rp, state="s1")
    browser = logged_in(resident())
    assert browser.get(authorize_url(rp, request_uri)).status_code == 200
    response = browser.post(
        "/oidc/authorize/consent", {"client_id": rp.client_id, "request_uri": request_uri, "decision": "deny"}
    )
    values = query(response["Location"])
    assert values["error"] == "access_denied"
    assert values["iss"] == ISSUER
    assert values["state"] == "s1"


#: Every authorization of a logged-in resident who has consented: the session, its account, the pushed request,
#: the consent decisions, the request used up (one conditional UPDATE), the grant with its code (one INSERT).
AUTHORIZE_STATEMENTS = 6


def test_it_issues_a_code_within_a_pinned_number_of_sql_statements(
    provider: None, django_assert_max_num_queries: Any
) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    run_flow(rp, browser)  # consent given once
    request_uri = _pushed(rp)
    with django_assert_max_num_queries(AUTHORIZE_STATEMENTS):
        response = browser.get(authorize_url(rp, request_uri))
    assert response.status_code == 302
    assert "code" in query(response["Location"])
    assert PushedRequest.objects.get(id=request_uri.rsplit(":", 1)[1]).used is True
    again = browser.get(authorize_url(rp, request_uri))  # used up: never a second code
    assert again.status_code == 400
    assert b"invalid_request_uri" in again.content


def test_it_uses_up_a_pushed_request_once_and_never_an_expired_one(provider: None) -> None:
    rp, client = register()
    fresh = par.resolve(_pushed(rp), client)
    expired = par.resolve(_pushed(rp), client)
    PushedRequest.objects.filter(id=expired.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert par.use_up(fresh) is True
    assert par.use_up(fresh) is False
    assert par.use_up(expired) is False
    assert PushedRequest.objects.get(id=expired.id).used is False
