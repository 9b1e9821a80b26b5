"""Interop: Authlib's client (not ours; with the city's small PAR and DPoP adapters) against a real idp process —
through the city server as a resident's browser uses it, and in-process for refresh and revocation.

- The city's "login with AnchorID": PAR → authorize (consent, one optional claim unticked) → code → token
  (private_key_jwt + DPoP with nonce) → ID token → userinfo; the city holds exactly the claims released.
- RP-initiated logout from the city ends both sessions and comes back with the city's state.
- Back-channel logout: a logout at the idp ends the city session through the idp's logout token.
- Refresh (FAPI 2.0: a confidential client keeps its refresh token), revocation (RFC 7009).
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from anchorid.city.rp.setup import load_config
from anchorid.common.rp.client import AnchorIDClient, LoginError, PendingLogin
from support.session_rows import raw_payload

from .harness import Browser, Parties, form_data, forms

RELEASED = {"sub", "name", "resident_of"}  # asked for, minus age_over_65 (unticked)


def city_claims(html: str) -> dict[str, str]:
    return dict(re.findall(r'<dd data-claim="([^"]+)">([^<]*)</dd>', html))


def city_login(browser: Browser, parties: Parties, *, untick: frozenset[str] = frozenset()) -> requests.Response:
    """Press "log in with AnchorID" at the city, consent at the idp, come back; the city's home page."""
    city = parties.city.url
    home = browser.http.get(f"{city}/", timeout=10)
    login_form = next(form for form in forms(home.text) if form["action"] == "/login/")
    token = next(field["value"] for field in login_form["fields"] if field.get("name") == "csrfmiddlewaretoken")
    pushed = browser.http.post(f"{city}/login/", data={"csrfmiddlewaretoken": token}, allow_redirects=False,
                               headers={"Origin": city, "Referer": f"{city}/"}, timeout=10)  # fmt: skip
    assert pushed.status_code == 302, pushed.text
    authorize = urlsplit(pushed.headers["Location"])
    assert set(parse_qs(authorize.query)) == {"client_id", "request_uri"}  # PAR: the browser carries nothing else
    callback = browser.authorize(pushed.headers["Location"], f"{city}/callback/", untick=untick)
    return browser.http.get(callback, timeout=30)


def test_it_the_city_logs_a_resident_in_with_exactly_the_chosen_claims_and_out_again(parties: Parties) -> None:
    browser = Browser(parties.idp.url)
    browser.onboard(parties.adult_card())
    home = city_login(browser, parties, untick=frozenset({"age_over_65"}))
    assert 'id="logged-in"' in home.text
    claims = city_claims(home.text)
    assert set(claims) == RELEASED
    assert claims["resident_of"] == "142042"

    # RP-initiated logout: the city ends its session, the idp ends its own and sends the browser back.
    page = browser.http.get(f"{parties.city.url}/", timeout=10)
    logout_form = next(form for form in forms(page.text) if form["action"] == "/logout/")
    token = next(field["value"] for field in logout_form["fields"] if field.get("name") == "csrfmiddlewaretoken")
    to_idp = browser.http.post(f"{parties.city.url}/logout/", data={"csrfmiddlewaretoken": token},
                               headers={"Origin": parties.city.url}, allow_redirects=False, timeout=10)  # fmt: skip
    assert to_idp.headers["Location"].startswith(f"{parties.idp.url}/oidc/logout?")
    back = browser.logout(to_idp.headers["Location"], f"{parties.city.url}/logged-out/")
    after = browser.http.get(back, timeout=10)
    assert "ログアウトしました" in after.text
    assert 'id="login-anchorid"' in after.text
    assert browser.logged_out_at_idp()


def test_it_the_city_keeps_no_token_or_name_in_clear_in_its_session_rows(parties: Parties) -> None:
    """Read the city's django_session table as someone with a copy of its database would."""
    browser = Browser(parties.idp.url)
    browser.onboard(parties.adult_card())
    home = city_login(browser, parties)
    claims = city_claims(home.text)
    name, sub = unescape(claims["name"]), unescape(claims["sub"])
    with closing(sqlite3.connect(parties.city.data / "city.sqlite3")) as database:
        rows = [raw_payload(data) for (data,) in database.execute("SELECT session_data FROM django_session")]
    assert rows
    for payload in rows:
        assert name.encode() not in payload
        assert json.dumps(name).strip('"').encode() not in payload  # nor JSON-escaped
        assert sub.encode() not in payload
        assert b"eyJ" not in payload  # no JWT (ID token, DPoP-bound access token) in clear
        assert b"access_token" not in payload
        assert b"refresh_token" not in payload


def test_it_a_logout_at_the_idp_ends_the_city_session_by_back_channel(parties: Parties) -> None:
    browser = Browser(parties.idp.url)
    browser.onboard(parties.adult_card())
    assert 'id="logged-in"' in city_login(browser, parties).text

    # The resident logs out at the idp itself (no relying party involved): the idp asks, they confirm.
    confirm = browser.http.get(f"{parties.idp.url}/oidc/logout", timeout=10)
    form = next(form for form in forms(confirm.text) if "logout" in form["action"])
    browser.http.post(f"{parties.idp.url}{form['action']}", data=form_data(form, button=("decision", "logout")),
                      headers={"Origin": parties.idp.url}, allow_redirects=False, timeout=10)  # fmt: skip
    assert browser.logged_out_at_idp()
    # The idp's logout token reached the city's back-channel endpoint: the city session is gone.
    assert 'id="login-anchorid"' in browser.http.get(f"{parties.city.url}/", timeout=10).text


def test_it_authlib_refreshes_with_dpop_and_revokes(parties: Parties) -> None:
    browser = Browser(parties.idp.url)
    browser.onboard(parties.adult_card())
    client = AnchorIDClient(load_config(parties.city.data))
    url, pending = client.start_login()
    callback = browser.authorize(url, client.config.redirect_uri)
    login = client.finish_login(callback, pending)
    assert login.token["token_type"] == "DPoP"
    assert login.id_token_claims["acr"].startswith("urn:anchorid:acr:")
    assert set(login.userinfo) == RELEASED | {"age_over_65"}

    refreshed = client.refresh(login.token)
    assert refreshed["access_token"] != login.token["access_token"]
    assert refreshed["refresh_token"] == login.token["refresh_token"]  # confidential client: FAPI 2.0, no rotation
    assert client.userinfo(refreshed, subject=login.id_token_claims["sub"]) == login.userinfo

    client.revoke(refreshed["refresh_token"])
    with pytest.raises(LoginError) as refused:
        client.refresh(refreshed)
    assert refused.value.code == "invalid_grant"


def test_it_authlib_refuses_a_response_for_another_request(parties: Parties) -> None:
    browser = Browser(parties.idp.url)
    browser.onboard(parties.adult_card())
    client = AnchorIDClient(load_config(parties.city.data))
    url, pending = client.start_login()
    callback = browser.authorize(url, client.config.redirect_uri)
    forged = PendingLogin(state="another", nonce=pending.nonce, code_verifier=pending.code_verifier)
    with pytest.raises(LoginError) as refused:
        client.finish_login(callback, forged)
    assert refused.value.code == "invalid_state"
