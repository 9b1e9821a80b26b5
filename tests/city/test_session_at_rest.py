"""The city's session rows, read as an attacker with a copy of the database would: no token, no name in clear."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from anchorid.city import login, resident_tokens
from anchorid.common.rp.client import AnchorIDClient, Login, PendingLogin
from support.session_rows import raw_session_payloads

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "access-token-AT-7f3c1e9a"
REFRESH_TOKEN = "refresh-token-RT-4b2d8c0f"
ID_TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwYWlyd2lzZS0xIn0.id-token-signature-9e1a"
NAME = "鎌倉 花子"


def test_it_keeps_no_token_or_name_in_clear_in_the_session_rows(
    client: Client, rp: AnchorIDClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def finish_login(callback_url: str, pending: PendingLogin) -> Login:
        token = {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "id_token": ID_TOKEN,
                 "token_type": "DPoP", "expires_at": 1_900_000_000}  # fmt: skip
        claims: dict[str, Any] = {"sub": "pairwise-1", "sid": "idp-session-1", "acr": "urn:anchorid:acr:ial3-aal2"}
        return Login(token=token, id_token_claims=claims, userinfo={"sub": "pairwise-1", "name": NAME})

    monkeypatch.setattr(rp, "finish_login", finish_login)
    session = client.session
    session[login.PENDING_KEY] = PendingLogin(state="s", nonce="n", code_verifier="v").as_dict()
    session.save()
    home = client.get("/callback/?code=c&state=s&iss=http://idp.test", follow=True)
    assert NAME in home.content.decode()  # logged in: the page still has what it needs

    payloads = raw_session_payloads()
    assert payloads
    for payload in payloads:
        for secret in (ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN, "id-token-signature", "pairwise-1"):
            assert secret.encode() not in payload
        assert NAME.encode() not in payload
        assert "花子".encode() not in payload
        assert b"\\u82b1\\u5b50" not in payload


def test_it_keeps_the_tokens_for_the_linked_home_in_the_session_and_drops_them_at_logout(
    client: Client, rp: AnchorIDClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The personalized home exchanges the city's access token (and refreshes it): the session keeps the access and
    refresh tokens (encrypted at rest: the test above), not the claims' dictionary, and logout drops them."""

    def finish_login(callback_url: str, pending: PendingLogin) -> Login:
        token = {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "id_token": ID_TOKEN,
                 "token_type": "DPoP", "expires_in": 300}  # fmt: skip
        return Login(token=token, id_token_claims={"sub": "pairwise-1"}, userinfo={"sub": "pairwise-1"})

    monkeypatch.setattr(rp, "finish_login", finish_login)
    session = client.session
    session[login.PENDING_KEY] = PendingLogin(state="s", nonce="n", code_verifier="v").as_dict()
    session.save()
    client.get("/callback/?code=c&state=s&iss=http://idp.test")
    kept = client.session[login.LOGIN_KEY]
    assert kept["id_token"] == ID_TOKEN
    assert ACCESS_TOKEN not in str(kept)
    tokens = client.session[resident_tokens.TOKENS_KEY]
    assert (tokens["access_token"], tokens["refresh_token"]) == (ACCESS_TOKEN, REFRESH_TOKEN)
    assert tokens["expires_at"] > 0

    monkeypatch.setattr(rp, "logout_url", lambda id_token, state: "http://idp.test/logout")
    client.post("/logout/")
    assert resident_tokens.TOKENS_KEY not in client.session
    for payload in raw_session_payloads():
        assert ACCESS_TOKEN.encode() not in payload
