"""Health points → local currency, end to end (issue #17 §3): the idp, the currency and the sample providers' server
(with the health points app) as real processes; a resident's browser scripted over HTTP.

- The resident logs in at the currency (their wallet) and at the health app, records a walk, and links the health app
  to the currency on the idp's link consent page; an award is credited through an exchanged token and appears in
  the wallet the resident sees.
- Every message the health app received — each answer to its outgoing calls (through a recording proxy: the
  providers' server runs with ``HTTP_PROXY``) and each request the resident's browser sent it — is searched for the
  resident's pairwise ``sub`` at the currency (read from the currency's own database), also inside every JWT: it is
  in none.
- SIGKILL of the providers' server (its whole process group) after the currency has written a credit and before the
  health app has its answer (the proxy holds the answer); restart; ``anchorid providers health award-pending`` sends
  the same transfer id again: answered ``exists``, exactly one credit.
- The resident withdraws the link at the idp (``/me/links/``): the next award is refused (``invalid_grant`` at the
  exchange), nothing is paid, the points stay with the resident.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from anchorid.common.rp import setup as rp_setup
from anchorid.common.rp.client import AnchorIDClient
from anchorid.idp.links import demo as links_demo
from anchorid.providersim import demo as providersim_demo

from .harness import Browser, Parties, Server, form_data, forms, free_port, run
from .recording_proxy import RecordingProxy

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*")
HEALTH_CLIENT = "providersim-health"
CITY_OFFER = "city-to-currency"


@dataclass
class LinkWorld:
    parties: Parties
    currency: Server
    providers: Server
    proxy: RecordingProxy
    #: What the resident's browser sent to the health app (method, URL, body).
    sent_to_health: list[tuple[str, str, bytes]]


@pytest.fixture(scope="module")
def world(parties: Parties, currency: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkWorld]:
    root = tmp_path_factory.mktemp("health-link")
    currency_url = currency.url  # the session's currency (conftest): the idp knows one client ``currency``
    base = {name: value for name, value in parties.city.env.items() if name != "ANCHORID_CITY_ORIGIN"}
    proxy = RecordingProxy().start()
    providers_url = f"http://127.0.0.1:{free_port()}"
    providers_env = dict(
        base, ANCHORID_PROVIDERS_ORIGIN=providers_url, ANCHORID_HEALTH_CURRENCY_URL=currency_url,
        HTTP_PROXY=proxy.url, http_proxy=proxy.url, NO_PROXY="", no_proxy="",
    )  # fmt: skip
    providers = Server("providers", providers_url, root / "providers", providers_env, own_group=True)
    run("providers", "setup", "--data", str(providers.data), "--idp", parties.idp.url, "--origin", providers_url,
        "--idp-data", str(parties.idp.data), "--only", "health", env=parties.idp.env)  # fmt: skip
    # The partner's prepaid account at the currency, and the demo's link scopes and offers at the idp (among them
    # health → currency, capped at 500 yen a month, and city → currency for the balance).
    providersim_demo.set_up_health(providers.data, currency.data, idp_origin=parties.idp.url,
                                   idp_data=parties.idp.data, providers_origin=providers_url,
                                   idp_env=parties.idp.env, currency_env=currency.env)  # fmt: skip
    links_demo.set_up(parties.idp.data, env=parties.idp.env)
    try:
        providers.start("/health/")
        yield LinkWorld(parties, currency, providers, proxy, [])
    finally:
        if providers.process is not None:
            providers.stop()
        proxy.stop()


class Resident:
    """The resident's browser across the idp, the currency and the health app."""

    def __init__(self, world: LinkWorld) -> None:
        self.world = world
        self.browser = Browser(world.parties.idp.url)
        self.http = self.browser.http
        self.browser.onboard(world.parties.adult_card())

    def _health(self, method: str, path: str, data: dict[str, str] | None = None) -> requests.Response:
        url = self.world.providers.url + path
        if method == "POST":
            data = {**(data or {}), "csrfmiddlewaretoken": self.http.cookies.get("providers_csrftoken") or ""}
        response = self.http.request(method, url, data=data, allow_redirects=False, timeout=60)
        body = response.request.body or b""
        self.world.sent_to_health.append((method, url, body if isinstance(body, bytes) else body.encode()))
        return response

    def health(self, method: str, path: str, data: dict[str, str] | None = None) -> requests.Response:
        """A request to the health app, following its redirects within the app (each one recorded)."""
        response = self._health(method, path, data)
        while response.is_redirect and response.headers["Location"].startswith(("/", self.world.providers.url)):
            location = urljoin(response.url, response.headers["Location"])
            response = self._health("GET", location.removeprefix(self.world.providers.url))
        return response

    def arrive_at_health(self, url: str) -> requests.Response:
        """The idp sends the browser back to the health app: that request is a message the app received too."""
        assert url.startswith(self.world.providers.url), url
        return self.health("GET", url.removeprefix(self.world.providers.url))

    def log_in_at_currency(self) -> None:
        currency = self.world.currency.url
        self.http.get(f"{currency}/", timeout=10)
        token = self.http.cookies.get("currency_csrftoken", "")
        start = self.http.post(f"{currency}/login/", allow_redirects=False, timeout=10,
                               data={"csrfmiddlewaretoken": token})  # fmt: skip
        assert start.is_redirect, start.text[:300]
        back = self.browser.authorize(start.headers["Location"], f"{currency}/callback/")
        assert self.http.get(back, timeout=30).status_code == 200

    def wallet_balance(self) -> int:
        page = self.http.get(f"{self.world.currency.url}/", timeout=10).text
        found = re.search(r'id="balance">([^<]*)<', page)
        assert found, page[:500]
        return int(re.sub(r"[^\d]", "", found.group(1)) or 0)

    def log_in_at_health(self) -> None:
        self.health("GET", "/health/")
        start = self._health("POST", "/health/login/")
        assert start.is_redirect, start.text[:300]
        back = self.browser.authorize(start.headers["Location"], f"{self.world.providers.url}/health/callback/")
        assert 'id="points-available"' in self.arrive_at_health(back).text

    def link(self) -> None:
        """「鎌倉コインと連携」 → the idp's consent page → allow → back at the health app."""
        start = self._health("POST", "/health/link/")
        assert start.is_redirect
        page = self.http.get(start.headers["Location"], timeout=10)
        assert page.status_code == 200, page.text[:500]
        assert "currency:credit" not in page.text  # residents never see scope strings
        form = next(form for form in forms(page.text) if "links" in form["action"] or "consent" in form["action"])
        allow = next(field for field in form["fields"] if field.get("name") == "decision"
                     and field.get("value") in ("allow", "approve"))  # fmt: skip
        answer = self.http.post(urljoin(page.url, form["action"]), allow_redirects=False, timeout=10,
                                data=form_data(form, button=("decision", allow["value"])),
                                headers={"Origin": self.world.parties.idp.url, "Referer": page.url})  # fmt: skip
        assert answer.is_redirect, answer.text[:500]
        assert "link=approved" in answer.headers["Location"]
        self.arrive_at_health(answer.headers["Location"])

    def withdraw_links(self) -> None:
        idp = self.world.parties.idp.url
        page = self.http.get(f"{idp}/me/links/", timeout=10)
        assert page.status_code == 200, page.text[:300]
        form = next(form for form in forms(page.text) if "withdraw" in form["action"])
        data = form_data(form, button=("decision", "withdraw"))
        answer = self.http.post(urljoin(page.url, form["action"]), data=data,
                                headers={"Origin": idp, "Referer": page.url}, timeout=10)  # fmt: skip
        assert answer.status_code == 200, answer.text[:300]

    def award(self, points: int) -> requests.Response:
        return self.health("POST", "/health/award/", {"points": str(points)})


def _sqlite(folder: Path) -> sqlite3.Connection:
    found = sorted(folder.glob("*.sqlite3"))
    assert found, f"no database in {folder}"
    return sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True)


def _credits(world: LinkWorld) -> list[tuple[str, int]]:
    with _sqlite(world.currency.data) as db:
        return list(db.execute("SELECT partner_transfer_id, amount FROM currency_partnercredit ORDER BY created_at"))


def _currency_sub(world: LinkWorld) -> str:
    with _sqlite(world.currency.data) as db:
        # The resident credited by the health app (the session's currency has the other journeys' members too).
        rows = [row[0] for row in db.execute(
            "SELECT DISTINCT m.sub FROM currency_member m JOIN currency_partnercredit c ON c.member_id = m.id"
        )]  # fmt: skip
    assert len(rows) == 1
    return str(rows[0])


def _awards(world: LinkWorld) -> list[tuple[str, int, str, str]]:
    with _sqlite(world.providers.data) as db:
        return list(db.execute("SELECT id, points, state, outcome FROM providersim_award ORDER BY created_at"))


def _jwt_payloads(data: bytes) -> Iterator[str]:
    for match in JWT.finditer(data.decode("utf-8", "replace")):
        segment = match.group(1)
        try:
            yield base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8", "replace")
        except ValueError:
            continue


def test_it_links_credits_survives_a_crash_and_stops_at_withdrawal_without_the_health_app_seeing_the_sub(
    world: LinkWorld,
) -> None:
    resident = Resident(world)
    resident.log_in_at_currency()
    assert resident.wallet_balance() == 0
    resident.log_in_at_health()
    assert resident.health("POST", "/health/walk/", {"day": _today(resident), "steps": "12000"}).status_code == 200

    # Not linked yet: the exchange is refused (invalid_grant), nothing paid, the points stay.
    resident.award(2)
    assert _awards(world)[-1][2:] == ("refused", "invalid_grant")
    assert _credits(world) == []

    resident.link()
    page = resident.award(3)
    assert 'data-state="done"' in page.text
    assert _credits(world) == [(_awards(world)[-1][0], 3)]
    assert resident.wallet_balance() == 3

    # SIGKILL of the health app after it stored the award, while it refreshes the resident's token (nothing sent to
    # the currency yet); restart; the retry sends it: one credit.
    _crash_while(world, resident, 2, lambda method, url: method == "POST" and url.endswith("/oidc/token"))
    award_id, points, state, _ = _awards(world)[-1]
    assert (points, state) == (2, "pending")
    assert len(_credits(world)) == 1
    world.providers.start("/health/")
    out = run("providers", "health", "award-pending", "--data", str(world.providers.data), env=world.providers.env)
    assert "1 done" in out
    assert _awards(world)[-1][2:] == ("done", "created")
    assert _credits(world)[-1] == (award_id, 2)

    # SIGKILL of the health app after the currency wrote the credit, before the app recorded the answer.
    _crash_while(world, resident, 4, lambda method, url: method == "POST" and url.endswith("/api/v1/credits"))
    award_id, points, state, _ = _awards(world)[-1]
    assert (points, state) == (4, "pending")
    assert _credits(world)[-1] == (award_id, 4)  # the currency has it; the app does not know yet
    world.providers.start("/health/")
    out = run("providers", "health", "award-pending", "--data", str(world.providers.data), env=world.providers.env)
    assert "1 done" in out
    assert _awards(world)[-1][2:] == ("done", "exists")
    assert [amount for _, amount in _credits(world)] == [3, 2, 4]  # exactly one credit for each retried award
    assert resident.wallet_balance() == 9

    # Withdrawal at the idp: the next credit fails with an invalid_grant-class error and nothing is paid.
    resident.withdraw_links()
    page = resident.award(3)
    assert _awards(world)[-1][1:] == (3, "refused", "invalid_grant")
    assert len(_credits(world)) == 3
    assert resident.wallet_balance() == 9
    assert 'data-points="3"' in page.text  # 12 earned − 9 sent: the refused awards' points stay

    # The health app never saw the currency's sub: not in any answer it received, nor any JWT in one, nor in any
    # request the browser sent it.
    currency_sub = _currency_sub(world)
    with _sqlite(world.providers.data) as db:
        (health_sub,) = db.execute("SELECT sub FROM providersim_walker").fetchone()
    assert health_sub != currency_sub
    received = [exchange.response_body + json.dumps(exchange.response_headers).encode()
                for exchange in world.proxy.exchanges]  # fmt: skip
    received += [f"{url}".encode() + body for _, url, body in world.sent_to_health]
    assert any(b"/api/v1/credits" in exchange.url.encode() for exchange in world.proxy.exchanges)
    assert any(b"token-type:access_token" in body for body in received)  # the exchanges were recorded
    for message in received:
        assert currency_sub.encode() not in message
        for payload in _jwt_payloads(message):
            assert currency_sub not in payload


def _crash_while(world: LinkWorld, resident: Resident, points: int, predicate: Any) -> None:
    """Award ``points`` from the browser and SIGKILL the providers' server (all its processes) once the request
    matching ``predicate`` has been answered by its target but before the answer reaches the health app."""
    crashed = threading.Thread(target=lambda: _swallow(lambda: resident.award(points)), daemon=True)
    with world.proxy.holding(predicate):
        crashed.start()
        assert world.proxy.held.wait(timeout=60), "the awaited request never left the health app"
        world.providers.kill()
    crashed.join(timeout=30)


def _today(resident: Resident) -> str:
    page = resident.health("GET", "/health/").text
    found = re.search(r'id="walk-day" name="day" type="date" value="([0-9-]+)"', page)
    assert found
    return found.group(1)


def _swallow(call: Any) -> None:
    with contextlib.suppress(requests.RequestException):  # the server was killed while the browser waited
        call()


def _login_as(client: AnchorIDClient, browser: Browser) -> dict[str, Any]:
    """The test itself acts as a registered relying party (its keys from its data folder) for this resident."""
    url, pending = client.start_login()
    back = browser.authorize(url, client.config.redirect_uri)
    return client.finish_login(back, pending).token


def _consent(resident: Resident, offer: str, return_to: str) -> None:
    page = resident.http.get(f"{resident.world.parties.idp.url}/links/consent/",
                             params={"offer": offer, "return_to": return_to}, timeout=10)  # fmt: skip
    assert page.status_code == 200, page.text[:300]
    form = next((form for form in forms(page.text) if "links" in form["action"]), None)
    if form is None:  # a live consent already: the page offers to go back
        return
    allow = next(field for field in form["fields"] if field.get("name") == "decision"
                 and field.get("value") in ("allow", "approve"))  # fmt: skip
    answer = resident.http.post(urljoin(page.url, form["action"]), allow_redirects=False, timeout=10,
                                data=form_data(form, button=("decision", allow["value"])),
                                headers={"Origin": resident.world.parties.idp.url, "Referer": page.url})  # fmt: skip
    assert "link=approved" in answer.headers.get("Location", ""), answer.text[:300]


def _post(url: str, token: str, proof: str | None, body: object, *, scheme: str = "DPoP") -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}", "Content-Type": "application/json"}
    if proof is not None:
        headers["DPoP"] = proof
    return requests.post(url, data=json.dumps(body), headers=headers, timeout=30)


def test_it_refuses_bad_credits_and_tokens_and_shows_the_wallet_to_a_linked_city(world: LinkWorld) -> None:
    resident = Resident(world)
    resident.log_in_at_currency()
    health = AnchorIDClient(rp_setup.load_config(world.providers.data / "health"))
    own = _login_as(health, resident.browser)
    _consent(resident, providersim_demo.HEALTH_OFFER, health.config.redirect_uri)
    credits_url = f"{world.currency.url}/api/v1/credits"
    wallet_url = f"{world.currency.url}/api/v1/wallet"
    # The resident consented to 500 yen a month; the service may ask for less (RFC 9396 subset): 10 yen.
    capped = [{"type": "anchorid_currency_credit", "max_yen_per_month": 10}]
    token = health.exchange_token(subject_token=own["access_token"], audience="currency", scope="currency:credit",
                                  authorization_details=capped)["access_token"]  # fmt: skip
    before = _credits(world)

    def proof(url: str = credits_url, method: str = "POST", access_token: str = token) -> str:
        return health.dpop.proof(method, url, access_token=access_token)

    good = {"transfer_id": "api-test-0001", "amount": 5, "memo": "test"}
    for body in ({**good, "amount": -5}, {**good, "amount": 0}, {**good, "amount": 1.5}, {**good, "amount": "5"},
                 {**good, "amount": 10**12}, {**good, "amount": True}, {**good, "transfer_id": "x"}, [good], "{",
                 {"amount": 5}):  # fmt: skip
        answer = _post(credits_url, token, proof(), body)
        assert answer.status_code == 400, (body, answer.status_code, answer.text)
        assert answer.json()["error"].startswith("invalid_")
    assert _post(credits_url, token, proof(), {**good, "amount": 11}).json()["error"] == "monthly_cap_exceeded"
    assert _post(credits_url, token, None, good).status_code == 401  # no DPoP proof
    assert _post(credits_url, token, proof(), good, scheme="Bearer").status_code == 401  # not as a bearer token
    assert _post(credits_url, own["access_token"], proof(access_token=own["access_token"]), good).status_code == 401
    wallet = requests.get(wallet_url, headers={"Authorization": f"DPoP {token}", "DPoP": proof(wallet_url, "GET")},
                          timeout=30)  # fmt: skip
    assert (wallet.status_code, wallet.json()["error"]) == (403, "insufficient_scope")
    assert _credits(world) == before  # nothing written by any refusal

    once = proof()
    assert _post(credits_url, token, once, good).status_code == 201
    replayed = _post(credits_url, token, once, {**good, "transfer_id": "api-test-0002"})
    assert replayed.status_code == 401  # the same proof again
    assert "invalid_dpop_proof" in replayed.headers.get("WWW-Authenticate", "")
    assert _post(credits_url, token, proof(), good).json()["status"] == "exists"
    assert len(_credits(world)) == len(before) + 1
    assert resident.wallet_balance() == 5

    # The city reads the wallet under its own link (currency:balance): the balance, the points' expiry far off,
    # the open benefit not claimed yet; the same token cannot credit.
    city = AnchorIDClient(rp_setup.load_config(world.parties.city.data))
    city_token = _login_as(city, resident.browser)
    _consent(resident, CITY_OFFER, city.config.redirect_uri)
    balance_token = city.exchange_token(subject_token=city_token["access_token"], audience="currency",
                                        scope="currency:balance")  # fmt: skip
    wallet = city.linked_request("GET", wallet_url, balance_token).json()
    assert (wallet["balance"], wallet["expiring_soon"]) == (5, [])
    assert [benefit["amount"] for benefit in wallet["unclaimed_benefits"]] == [3_000]
    refused = city.linked_request("POST", credits_url, balance_token, json={**good, "transfer_id": "api-test-0003"})
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient_scope")
    assert len(_credits(world)) == len(before) + 1
