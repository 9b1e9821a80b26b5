"""OpenID Connect Back-Channel Logout 1.0 §2.5–2.8: the idp's logout token ends the resident's city session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from joserfc.jwk import ECKey

from anchorid.city.models import ResidentSession
from anchorid.common.rp.client import AnchorIDClient

from .conftest import logout_claims
from .test_home import logged_in_client

pytestmark = pytest.mark.django_db

Sign = Callable[..., str]


def resident_session(sid: str = "idp-session-1", sub: str = "pairwise-sub-1") -> Client:
    browser = logged_in_client(Client(), {"sub": sub})
    ResidentSession.objects.create(session_key=browser.session.session_key, sub=sub, sid=sid)
    return browser


def post(token: str) -> int:
    return Client().post("/backchannel-logout/", {"logout_token": token}).status_code


def test_it_ends_the_session_the_token_names(rp: AnchorIDClient, sign: Sign) -> None:
    ended, other = resident_session(), resident_session(sid="idp-session-2", sub="pairwise-sub-2")
    assert post(sign(logout_claims())) == 200
    assert 'id="login-anchorid"' in ended.get("/").content.decode()
    assert 'id="logout"' in other.get("/").content.decode()
    assert list(ResidentSession.objects.values_list("sid", flat=True)) == ["idp-session-2"]


def test_it_ends_every_session_of_the_subject_without_a_sid(rp: AnchorIDClient, sign: Sign) -> None:
    resident_session(sid="a"), resident_session(sid="b")
    assert post(sign(logout_claims(sid=None))) == 200
    assert not ResidentSession.objects.exists()


def test_it_rejects_a_replayed_token(rp: AnchorIDClient, sign: Sign) -> None:
    token = sign(logout_claims())
    assert post(token) == 200
    assert post(token) == 400


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-client"},
        {"iss": "http://evil.test"},
        {"events": {"http://schemas.openid.net/event/other": {}}},
        {"nonce": "n"},
        {"sub": None, "sid": None},
        {"jti": None},
    ],
    ids=["wrong-aud", "wrong-iss", "no-logout-event", "nonce", "no-sub-or-sid", "no-jti"],
)
def test_it_rejects_a_token_with_wrong_claims(rp: AnchorIDClient, sign: Sign, overrides: dict[str, object]) -> None:
    browser = resident_session()
    assert post(sign(logout_claims(**overrides))) == 400
    assert 'id="logout"' in browser.get("/").content.decode()


def test_it_rejects_a_token_signed_by_another_key(
    rp: AnchorIDClient, sign: Sign, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rp, "_get_json", lambda url: {"keys": []})  # the refetch finds no other key either
    assert post(sign(logout_claims(), key=ECKey.generate_key("P-256", private=True))) == 400


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 5000])
def test_it_handles_a_malformed_token(rp: AnchorIDClient, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rp, "_get_json", lambda url: {"keys": []})
    assert post(token) == 400


def test_it_accepts_only_post(client: Client) -> None:
    assert client.get("/backchannel-logout/").status_code == 405
