"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2) from the city."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from anchorid.city.models import ResidentSession
from anchorid.common.rp.client import AnchorIDClient

from .test_home import logged_in_client

pytestmark = pytest.mark.django_db


def test_it_ends_the_local_session_and_sends_the_browser_to_the_idp(client: Client, rp: AnchorIDClient) -> None:
    logged_in_client(client, {"sub": "s"})
    ResidentSession.objects.create(session_key=client.session.session_key, sub="s", sid="sid-1")
    response = client.post("/logout/")
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == "http://idp.test/logout"
    params = parse_qs(target.query)
    assert params["id_token_hint"] == ["x.y.z"]
    assert params["client_id"] == ["city"]
    assert params["post_logout_redirect_uri"] == ["http://testserver/logged-out/"]
    assert not ResidentSession.objects.exists()
    assert 'id="login-anchorid"' in client.get("/").content.decode()

    back = client.get(f"/logged-out/?state={params['state'][0]}", follow=True)
    assert "ログアウトしました" in back.content.decode()


def test_it_ignores_a_logout_return_with_another_state(client: Client, rp: AnchorIDClient) -> None:
    logged_in_client(client, {"sub": "s"})
    client.post("/logout/")
    back = client.get("/logged-out/?state=forged", follow=True)
    assert "ログアウトしました" not in back.content.decode()


def test_it_needs_a_post_to_log_out(client: Client) -> None:
    assert client.get("/logout/").status_code == 405


def test_it_logs_out_of_the_city_even_when_the_idp_is_unreachable(
    client: Client, rp: AnchorIDClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged_in_client(client, {"sub": "s"})
    rp._metadata = None
    monkeypatch.setattr(rp.http, "get", _unreachable)
    response = client.post("/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    body = response.content.decode()
    assert "AnchorIDには接続できませんでした" in body
    assert 'id="login-anchorid"' in body


def _unreachable(*args: object, **kwargs: object) -> None:
    import requests

    raise requests.ConnectionError("idp down")
