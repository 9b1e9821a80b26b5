"""The resident home: the login button when logged out; exactly the claims received when logged in."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.test import Client

from anchorid.city import login
from anchorid.common.csp import with_form_action
from anchorid.common.rp.client import AnchorIDClient

pytestmark = pytest.mark.django_db


def logged_in_client(client: Client, claims: dict[str, Any]) -> Client:
    session = client.session
    session[login.LOGIN_KEY] = {"claims": claims, "acr": "urn:anchorid:acr:ial3-aal2", "id_token": "x.y.z",
                                "token": {"access_token": "a", "token_type": "DPoP"}}  # fmt: skip
    session.save()
    return client


def test_it_offers_login_with_anchorid_in_japanese(client: Client) -> None:
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="login-anchorid"' in body
    assert "AnchorIDでログイン" in body
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_it_speaks_english_when_asked(client: Client) -> None:
    body = client.get("/", headers={"Accept-Language": "en"}).content.decode()
    assert "Log in with AnchorID" in body


def test_it_shows_exactly_the_claims_received(client: Client) -> None:
    claims = {"sub": "pairwise-1", "name": "鎌倉 花子", "resident_of": "142042"}
    body = logged_in_client(client, claims).get("/").content.decode()
    assert body.count("<dt>") == 3
    for name, value in claims.items():
        assert f'<dd data-claim="{name}">{value}</dd>' in body
    assert "birthdate" not in body
    assert "氏名" in body
    assert 'id="logout"' in body


def test_it_shows_a_boolean_claim_as_yes_or_no(client: Client) -> None:
    body = logged_in_client(client, {"sub": "s", "age_over_18": True}).get("/").content.decode()
    assert '<dd data-claim="age_over_18">はい</dd>' in body


def test_it_shows_structured_claims_as_json(client: Client) -> None:
    body = logged_in_client(client, {"sub": "s", "address": {"region": "神奈川県"}}).get("/").content.decode()
    assert "&quot;region&quot;: &quot;神奈川県&quot;" in body


def test_it_refuses_a_login_by_get(client: Client) -> None:
    assert client.get("/login/").status_code == 405


def test_it_refuses_a_callback_without_a_started_login(client: Client) -> None:
    response = client.get("/callback/?code=abc&state=xyz&iss=http://idp.test", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "ログインできませんでした" in response.content.decode()


def test_it_its_policy_lets_the_login_and_logout_forms_redirect_to_the_idp() -> None:
    policy = with_form_action("default-src 'self'; form-action 'self'; object-src 'none'", "http://localhost:8001")
    assert "form-action 'self' http://localhost:8001;" in policy
    assert with_form_action("form-action 'self'", None) == "form-action 'self'"


def test_it_says_so_when_anchorid_is_unreachable(
    client: Client, rp: AnchorIDClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rp._metadata = None
    monkeypatch.setattr(rp.http, "get", _unreachable)
    response = client.post("/login/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "AnchorIDに接続できませんでした" in response.content.decode()


def _unreachable(*args: object, **kwargs: object) -> None:
    raise requests.ConnectionError("idp down")


def test_it_links_a_logged_in_resident_to_i_moved_at_anchorid(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from anchorid.city import views

    monkeypatch.setattr(views, "configured_issuer", lambda data_dir: "http://idp.test/")
    body = logged_in_client(client, {"sub": "s"}).get("/").content.decode()
    assert 'id="moving-link" href="http://idp.test/me/moving/"' in body
    assert "引っ越しました" in body


def test_it_offers_no_i_moved_link_before_the_city_is_set_up(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from anchorid.city import views

    monkeypatch.setattr(views, "configured_issuer", lambda data_dir: None)
    body = logged_in_client(client, {"sub": "s"}).get("/").content.decode()
    assert 'id="moving-link"' not in body
