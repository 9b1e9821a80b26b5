"""The personalized resident home (issue 17, 申請主義からの転換) against real processes: the interop run's jlis, idp and
city, and here the e-library, the local currency and the participation platform, each registered at the idp with
its own client and pairwise sector; the link offers registered at the idp as the demo does (``idp.links.demo``).

1. A resident borrows a book at the e-library and charges the currency (logging in at each: each knows them by its
   own ``sub``); the participation platform has a vote open that they have not voted in.
2. At the city, logged in, before linking: an invitation to link for each service and none of their data.
3. They link the three on the idp's consent screen (from the city's invitations): the city home now shows the
   book's title and due date, the balance, the unclaimed benefit with a link to claim it, and the open vote.
4. Another resident, logged in at the city without links, sees invitations only.
5. Every table of the city's database, every text and blob column: none of the fetched values.
6. Unlinkability: the resident's ``sub`` at the city, the library and the currency differ; a token exchanged for
   the library is refused by the currency's and the participation platform's APIs; used as a subject token it is
   refused by the idp (the consent does not allow further exchange), whoever asks.
7. A service that is down: the home says so, no error page.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from anchorid.city import linked_services
from anchorid.city.rp.setup import load_config as city_config
from anchorid.common.rp.client import AnchorIDClient, LoginError
from anchorid.common.rp.setup import load_config
from anchorid.currency import demo as currency_demo
from anchorid.idp.links import demo as links_demo
from anchorid.participation.demo import SLUGS

from .harness import Browser, Parties, Server, base_env, form_data, forms, free_port, run, start_parties

BOOK = "海辺の図書室"
VOTE = SLUGS["vote"]
CHARGE = 2_000


@dataclass
class Linked:
    """The run's parties, the three services started here, and what the journey saw."""

    parties: Parties
    library: Server
    currency: Server
    participation: Server
    seen: dict[str, Any] = field(default_factory=dict)


def _start(name: str, root: Path, parties: Parties, *, host: str, setup: list[str]) -> Server:
    url = f"http://{host}:{free_port()}"
    env = dict(base_env(), **{f"ANCHORID_{name.upper()}_ORIGIN": url})
    server = Server(name, url, root / name, env)
    run(name, "setup", "--data", str(server.data), "--idp", parties.idp.url, "--origin", url,
        "--idp-data", str(parties.idp.data), *setup, env=parties.idp.env)  # fmt: skip
    return server


@pytest.fixture(scope="module")
def own_parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parties]:
    """A jlis, idp and city of this module's own: the library, the currency and the participation platform register
    at this idp under the client ids the demo's link offers name (``library``, ``currency``, ``participation``), which
    the session's idp has already given to the browser journeys' servers of those parties."""
    started = start_parties(tmp_path_factory.mktemp("linked-parties"), residents=8)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def linked(own_parties: Parties, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    parties = own_parties
    root = tmp_path_factory.mktemp("linked-home")
    library = _start("library", root, parties, host="127.0.0.1", setup=[])
    currency = _start("currency", root, parties, host="127.0.0.1",
                      setup=["--sector-identifier-uri", currency_demo.SECTOR])  # fmt: skip
    # On localhost: the city is on 127.0.0.1, and the platform's sector is the host of its redirect URIs.
    participation = _start("participation", root, parties, host="localhost", setup=[])
    world = Linked(parties, library, currency, participation)
    config = parties.city.data / linked_services.LINKED_SERVICES_FILE
    steps = {  # each service's own data folder and server: side by side
        "library": lambda: (run("library", "seed", "--data", str(library.data), env=library.env),
                            library.start("/healthz")),
        "currency": lambda: (run("currency", "seed-demo", "--data", str(currency.data), env=currency.env),
                             currency.start("/")),
        "participation": lambda: (participation.start("/healthz"),
                                  run("participation", "demo", "--data", str(participation.data),
                                      env=participation.env)),
    }  # fmt: skip
    try:
        with ThreadPoolExecutor(max_workers=len(steps)) as pool:
            started = [pool.submit(step) for step in steps.values()]
            links_demo.set_up(parties.idp.data, env=parties.idp.env)  # the link scopes and offers, as the demo does
            for future in started:
                future.result()
        for kind, server in (("library", library), ("currency", currency), ("participation", participation)):
            # what ``anchorid city link-service`` writes (tests/city/test_linked_home.py runs the command)
            linked_services.save(parties.city.data, linked_services.LinkedService(kind, kind, server.url,
                                                                                  f"city-to-{kind}"))  # fmt: skip
        yield world
    finally:
        config.unlink(missing_ok=True)  # the other interop tests' city home is as before
        for server in (library, currency, participation):
            server.stop()


# --- a resident's browser at each party ------------------------------------------------------------------------------


def _csrf(page: requests.Response, action: str) -> str:
    form = next(form for form in forms(page.text) if form["action"] == action)
    return str(next(f["value"] for f in form["fields"] if f.get("name") == "csrfmiddlewaretoken"))


def log_in(browser: Browser, origin: str) -> requests.Response:
    """Press "log in with AnchorID" at a relying party (consenting at the idp), come back; its home page."""
    home = browser.http.get(f"{origin}/", timeout=10)
    pushed = browser.http.post(f"{origin}/login/", data={"csrfmiddlewaretoken": _csrf(home, "/login/")},
                               headers={"Origin": origin, "Referer": f"{origin}/"}, allow_redirects=False,
                               timeout=10)  # fmt: skip
    assert pushed.status_code == 302, pushed.text[:300]
    callback = browser.authorize(pushed.headers["Location"], f"{origin}/callback/")
    return browser.http.get(callback, timeout=30)


def borrow(browser: Browser, library: str, title: str) -> None:
    found = browser.http.get(f"{library}/search/", params={"q": title}, timeout=10)
    path = re.search(r'href="(/titles/\d+/)"', found.text)
    assert path, found.text[:500]
    page = browser.http.get(library + path.group(1), timeout=10)
    action = f"{path.group(1)}borrow/"
    done = browser.http.post(library + action, data={"csrfmiddlewaretoken": _csrf(page, action)},
                             headers={"Origin": library, "Referer": page.url}, allow_redirects=False,
                             timeout=30)  # fmt: skip
    assert done.status_code == 302
    assert "/read/" in done.headers["Location"]


def charge(browser: Browser, currency: str, amount: int) -> None:
    wallet = browser.http.get(f"{currency}/", timeout=10)
    form = next(form for form in forms(wallet.text) if form["action"] == "/charge/")
    data = {f["name"]: f.get("value", "") for f in form["fields"] if f.get("name")}
    data["amount"] = str(amount)
    done = browser.http.post(f"{currency}/charge/", data=data, headers={"Origin": currency, "Referer": wallet.url},
                             allow_redirects=False, timeout=30)  # fmt: skip
    assert done.status_code == 302


def consent_to_link(browser: Browser, url: str, city: str) -> str:
    """Follow an invitation to the idp's link consent screen and approve; where the idp sends the browser back."""
    response = browser.http.get(url, allow_redirects=False, timeout=10)
    for _ in range(6):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(city):
                return location
            response = browser.http.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, f"{response.status_code} at {response.url}: {response.text[:300]}"
        form = next(form for form in forms(response.text) if form["fields"] and "link" in form["action"])
        approve = next(f for f in form["fields"] if f["tag"] == "button" and f.get("value") in ("approve", "allow"))
        response = browser.http.post(urljoin(response.url, form["action"]),
                                     data=form_data(form, button=(approve["name"], approve["value"])),
                                     headers={"Origin": browser.idp_url, "Referer": response.url},
                                     allow_redirects=False, timeout=10)  # fmt: skip
    raise AssertionError("the consent screen never sent the browser back to the city")


def panel_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="linked-(\w+)" class="linked" data-state="(\w+)"', html))


def city_sub(html: str) -> str:
    found = re.search(r'<dd data-claim="sub">([^<]*)</dd>', html)
    assert found
    return unescape(found.group(1))


def one_value(database: Path, query: str, *params: str) -> Any:
    with closing(sqlite3.connect(database)) as connection:
        row = connection.execute(query, params).fetchone()
    assert row is not None
    return row[0]


# --- the journey -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def journey(linked: Linked) -> Linked:
    parties, city = linked.parties, linked.parties.city.url
    resident = Browser(parties.idp.url)
    resident.onboard(parties.adult_card())
    log_in(resident, linked.library.url)
    borrow(resident, linked.library.url, BOOK)
    log_in(resident, linked.currency.url)
    charge(resident, linked.currency.url, CHARGE)

    home = log_in(resident, city)
    assert 'id="logged-in"' in home.text
    linked.seen["before"] = home.text
    linked.seen["city_sub"] = city_sub(home.text)
    invitations = re.findall(r'<a href="([^"]+)" class="button" data-link-offer>', home.text)
    assert len(invitations) == 3
    for invitation in invitations:
        back = consent_to_link(resident, unescape(invitation), city)
        assert urlsplit(back).path == "/callback/"
        assert "link=approved" in back
        assert resident.http.get(back, timeout=30).status_code == 200
    linked.seen["after"] = resident.http.get(f"{city}/", timeout=60).text

    stranger = Browser(parties.idp.url)
    stranger.onboard(parties.adult_card())
    linked.seen["unlinked"] = log_in(stranger, city).text
    linked.seen["resident"] = resident
    return linked


def test_it_invites_to_link_and_shows_nothing_before_the_resident_links(journey: Linked) -> None:
    before = journey.seen["before"]
    assert panel_states(before) == {"library": "not_linked", "currency": "not_linked", "participation": "not_linked"}
    assert BOOK not in before
    assert "くらし応援給付金" not in before
    for invitation in re.findall(r'<a href="([^"]+)" class="button" data-link-offer>', before):
        url = urlsplit(unescape(invitation))
        assert f"{url.scheme}://{url.netloc}" == journey.parties.idp.url
        assert url.path == "/links/consent/"


def test_it_shows_the_linked_residents_loan_balance_benefit_and_open_vote(journey: Linked) -> None:
    after = journey.seen["after"]
    assert panel_states(after) == {"library": "shown", "currency": "shown", "participation": "shown"}
    library = after[after.index('id="linked-library"') :]
    assert BOOK in library[: library.index("</section>")]
    assert "返却期限" in library
    assert re.search(r'id="linked-balance">2,200円<', after)  # 2,000 yen charged, the residents' 10 % premium
    benefits = after[after.index('id="unclaimed-benefits"') :]
    assert "くらし応援給付金" in benefits
    assert "3,000円" in benefits
    assert f'href="{journey.currency.url}/"' in benefits  # a link to claim it, at the currency
    votes = after[after.index('id="linked-participation"') :]
    assert f'href="{journey.participation.url}/processes/{VOTE}/"' in votes


def test_it_shows_nothing_of_the_services_to_a_resident_who_did_not_link(journey: Linked) -> None:
    unlinked = journey.seen["unlinked"]
    assert panel_states(unlinked) == {"library": "not_linked", "currency": "not_linked", "participation": "not_linked"}
    assert BOOK not in unlinked
    assert 'id="unclaimed-benefits"' not in unlinked
    assert 'id="linked-balance"' not in unlinked
    assert f"/processes/{VOTE}/" not in unlinked


def test_it_the_citys_database_holds_none_of_the_fetched_values(journey: Linked) -> None:
    vote_title = one_value(journey.participation.data / "participation.sqlite3",
                           "SELECT title FROM participation_process WHERE slug = ?", VOTE)  # fmt: skip
    assert vote_title in journey.seen["after"]
    wanted = [BOOK, vote_title, "くらし応援給付金", "2,200円"]
    found: list[str] = []
    with closing(sqlite3.connect(journey.parties.city.data / "city.sqlite3")) as database:
        tables = [name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "django_session" in tables
        for table in tables:
            columns = [row[1] for row in database.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                query = f'SELECT "{column}" FROM "{table}" WHERE typeof("{column}") IN (\'text\', \'blob\')'  # noqa: S608
                for (value,) in database.execute(query):
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    found += [f"{table}.{column}: {item}" for item in wanted if item.encode() in raw]
    assert not found


def test_it_the_resident_has_three_different_subs(journey: Linked) -> None:
    library_sub = one_value(journey.library.data / "library.sqlite3", "SELECT sub FROM library_patron")
    currency_sub = one_value(journey.currency.data / "currency.sqlite3", "SELECT sub FROM currency_member")
    subs = {journey.seen["city_sub"], library_sub, currency_sub}
    assert len(subs) == 3
    after = journey.seen["after"]
    assert library_sub not in after  # the city never learns the library's or the currency's sub
    assert currency_sub not in after


@pytest.fixture(scope="module")
def exchanged(journey: Linked) -> dict[str, Any]:
    """As the city (its own client, keys and DPoP key, in this process): the resident's access token (a login in
    the resident's browser), and a token exchanged from it for the library."""
    client = AnchorIDClient(city_config(journey.parties.city.data))
    url, pending = client.start_login()
    callback = journey.seen["resident"].authorize(url, client.config.redirect_uri)
    login = client.finish_login(callback, pending)
    token = client.exchange_token(subject_token=login.token["access_token"], audience="library",
                                  scope="library:loans")  # fmt: skip
    return {"client": client, "library_token": token, "access_token": login.token["access_token"]}


def test_it_an_exchanged_token_works_only_at_its_audience(journey: Linked, exchanged: dict[str, Any]) -> None:
    client, token = exchanged["client"], exchanged["library_token"]
    at_library = client.linked_request("GET", f"{journey.library.url}/api/v1/status", token)
    assert at_library.status_code == 200
    assert [loan["title"] for loan in at_library.json()["loans"]] == [BOOK]
    assert "sub" not in json.dumps(at_library.json())
    for other in (f"{journey.currency.url}/api/v1/wallet", f"{journey.participation.url}/api/v1/status"):
        refused = client.linked_request("GET", other, token)
        assert refused.status_code == 401, other
        assert "invalid_token" in refused.headers.get("WWW-Authenticate", "")


def test_it_refuses_the_token_without_its_proof_or_with_a_replayed_one(
    journey: Linked, exchanged: dict[str, Any]
) -> None:
    """At the library, with the valid exchanged token: as a bearer token, without a DPoP proof, with a proof made
    for another URL, and with a proof already used — each 401, a clear error, and no data."""
    client: AnchorIDClient = exchanged["client"]
    access_token = exchanged["library_token"]["access_token"]
    url = f"{journey.library.url}/api/v1/status"

    def get(headers: dict[str, str]) -> requests.Response:
        return requests.get(url, headers=headers, timeout=10)

    header, claims, _ = access_token.split(".")
    forged = f"{header}.{claims}.{jwt.encode({'alg': 'ES256'}, {'x': 1}, ECKey.generate_key('P-256')).split('.')[2]}"
    cases = {
        "bearer": {"Authorization": f"Bearer {access_token}"},
        "forged signature": {"Authorization": f"DPoP {forged}",
                             "DPoP": client.dpop.proof("GET", url, access_token=forged)},
        "no proof": {"Authorization": f"DPoP {access_token}"},
        "proof for another URL": {"Authorization": f"DPoP {access_token}",
                                  "DPoP": client.dpop.proof("GET", f"{journey.currency.url}/api/v1/wallet",
                                                            access_token=access_token)},
    }  # fmt: skip
    for case, headers in cases.items():
        refused = get(headers)
        assert refused.status_code == 401, case
        assert refused.headers["WWW-Authenticate"].startswith("DPoP"), case
        assert BOOK not in refused.text, case
    proof = client.dpop.proof("GET", url, access_token=access_token)
    first = get({"Authorization": f"DPoP {access_token}", "DPoP": proof})
    if first.status_code == 401 and "use_dpop_nonce" in first.headers.get("WWW-Authenticate", ""):
        client.dpop.remember_nonce(first)
        proof = client.dpop.proof("GET", url, access_token=access_token)
        first = get({"Authorization": f"DPoP {access_token}", "DPoP": proof})
    assert first.status_code == 200
    replayed = get({"Authorization": f"DPoP {access_token}", "DPoP": proof})
    assert replayed.status_code == 401
    assert "invalid_dpop_proof" in replayed.headers["WWW-Authenticate"]
    assert BOOK not in replayed.text


def test_it_a_token_for_reading_the_wallet_cannot_credit_it(journey: Linked, exchanged: dict[str, Any]) -> None:
    """The city's link to the currency is for reading the balance: the same audience, another scope — 403."""
    client: AnchorIDClient = exchanged["client"]
    token = client.exchange_token(subject_token=exchanged["access_token"], audience="currency",
                                  scope="currency:balance")  # fmt: skip
    assert client.linked_request("GET", f"{journey.currency.url}/api/v1/wallet", token).status_code == 200
    refused = client.linked_request("POST", f"{journey.currency.url}/api/v1/credits", token,
                                    json={"transfer_id": "city-tries-1", "amount": 100, "memo": "x"})  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"


def test_it_an_exchanged_token_cannot_be_exchanged_further(journey: Linked, exchanged: dict[str, Any]) -> None:
    """The consent city → library does not allow further exchange: neither the city nor the library (its audience,
    with its own client) gets a token from it."""
    token = exchanged["library_token"]["access_token"]
    city_client: AnchorIDClient = exchanged["client"]
    library_client = AnchorIDClient(load_config(journey.library.data, setup_command="anchorid library setup"))
    for client, audience, scope in ((city_client, "currency", "currency:balance"),
                                    (library_client, "currency", "currency:balance"),
                                    (library_client, "participation", "participation:votes")):  # fmt: skip
        with pytest.raises(LoginError) as refused:
            client.exchange_token(subject_token=token, audience=audience, scope=scope)
        assert refused.value.code == "invalid_grant"


def test_it_says_so_when_a_linked_service_is_down(journey: Linked) -> None:
    journey.participation.stop()
    page = journey.seen["resident"].http.get(f"{journey.parties.city.url}/", timeout=60)
    assert page.status_code == 200
    assert panel_states(page.text)["participation"] == "unavailable"
    assert "つながりませんでした" in page.text
    assert BOOK in page.text  # the other services still show
