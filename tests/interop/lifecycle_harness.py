"""The parties of the lifecycle tests (issue #5) as real processes, and what a resident does in them.

``start_world`` starts jlis, the idp and the city as ``start_parties`` does, then the sample providers
(``anchorid serve providers``, registered with the demo's own steps, ``anchorid.providersim.demo.set_up``:
``anchorid providers setup --idp-data``, the postal one poll-based, and ``anchorid city departments-setup``),
restarts the idp with the Shared Signals settings the demo uses (plain http to this machine allowed, quick
retries, no scheduled sweep: the tests run ``anchorid idp sweep`` by hand), and connects every receiver's stream
(``providersim.demo.connect``: ``anchorid providers connect``, ``anchorid city connect-events``).

The resident's side is ``Browser`` plus: signing up at a provider with "login with AnchorID" (consenting to name
and address), sharing the address with the city's departments, ticking services on the idp's "I moved" page,
giving the refresh consent signed by the virtual card (the card helper's own signing function), and reading what
each provider and department holds.
Nothing here imports Django: every party is reached over HTTP or through its CLI.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

from anchorid.cardhelper.helper import check_consent_request, sign_consent
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport
from anchorid.providersim import demo as providersim_demo

from .harness import Browser, Parties, Server, forms, free_port, run, start_parties

SSF_ENV = {
    "ANCHORID_SSF_ALLOW_INSECURE_HTTP": "1",
    "ANCHORID_SSF_PUSH_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "ANCHORID_SSF_RETRY_BASE": "0.2",
    "ANCHORID_SSF_RETRY_MAX": "1",
    "ANCHORID_SWEEP_INTERVAL": "0",
}
POLLING = "post"
T = TypeVar("T")


@dataclass
class World:
    parties: Parties
    providers: Server

    @property
    def idp(self) -> Server:
        return self.parties.idp

    @property
    def jlis(self) -> Server:
        return self.parties.jlis

    @property
    def city(self) -> Server:
        return self.parties.city

    def stop(self) -> None:
        self.providers.stop()
        self.parties.stop()

    def cli(self, server: Server, *args: str) -> str:
        """``anchorid <party> <verb> --data <its folder> …`` with the party's environment."""
        party = "providers" if server is self.providers else server.name
        return run(party, args[0], "--data", str(server.data), *args[1:], env=server.env)


def start_world(root: Path, *, residents: int = 16) -> World:
    parties = start_parties(root, residents=residents)
    url = f"http://127.0.0.1:{free_port()}"
    env = {key: value for key, value in parties.city.env.items() if key != "ANCHORID_CITY_ORIGIN"}
    providers = Server("providers", url, root / "providers", dict(env, ANCHORID_PROVIDERS_ORIGIN=url))
    world = World(parties, providers)
    try:
        providersim_demo.set_up(providers.data, parties.city.data, idp_origin=parties.idp.url,
                                idp_data=parties.idp.data, providers_origin=url, city_origin=parties.city.url,
                                env=parties.idp.env)  # fmt: skip
        parties.idp.stop()
        parties.idp.env.update(SSF_ENV)
        # the card helper a browser test runs for this idp: a port of its own (the default one may be another
        # module's helper, on another pytest-xdist worker)
        parties.idp.env["ANCHORID_CARD_HELPER_PORT"] = str(free_port())
        parties.idp.start("/.well-known/openid-configuration")
        providers.start("/")
        providersim_demo.connect(providers.data, parties.city.data)
    except BaseException:
        world.stop()
        raise
    return world


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 60, *,
             state: Callable[[], object] | None = None) -> T:  # fmt: skip
    """``check()`` once it is truthy; on timeout the assertion names ``what`` and shows ``state()``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {state()}" if state else ""))
        time.sleep(0.3)


def _csrf(html: str, action: str) -> str:
    form = next(form for form in forms(html) if form["action"] == action)
    return str(next(field["value"] for field in form["fields"] if field.get("name") == "csrfmiddlewaretoken"))


def sign_up(browser: Browser, world: World, slug: str) -> str:
    """Sign up at provider ``slug`` with AnchorID, consenting to name and address; the provider's page after."""
    base = f"{world.providers.url}/{slug}"
    page = browser.http.get(f"{base}/", timeout=10)
    token = _csrf(page.text, f"/{slug}/signup/")
    pushed = browser.http.post(f"{base}/signup/", data={"csrfmiddlewaretoken": token}, allow_redirects=False,
                               headers={"Origin": world.providers.url, "Referer": f"{base}/"}, timeout=10)  # fmt: skip
    assert pushed.status_code == 302, pushed.text
    callback = browser.authorize(pushed.headers["Location"], f"{base}/callback/")
    home = browser.http.get(callback, timeout=30)
    assert 'id="logged-in"' in home.text, home.text[:2000]
    return home.text


def share_with_departments(browser: Browser, world: World) -> str:
    """Share the address with the city's departments (their own AnchorID login, consenting to the address)."""
    base = f"{world.city.url}/departments"
    page = browser.http.get(f"{base}/", timeout=10)
    token = _csrf(page.text, "/departments/connect/")
    pushed = browser.http.post(f"{base}/connect/", data={"csrfmiddlewaretoken": token}, allow_redirects=False,
                               headers={"Origin": world.city.url, "Referer": f"{base}/"}, timeout=10)  # fmt: skip
    assert pushed.status_code == 302, pushed.text
    callback = browser.authorize(pushed.headers["Location"], f"{base}/callback/")
    records = browser.http.get(callback, timeout=30)
    assert 'id="department-records"' in records.text, records.text[:2000]
    return records.text


def signed_up_resident(world: World, providers: tuple[str, ...]) -> tuple[Browser, dict[str, Any]]:
    """A seeded adult onboarded with the virtual card, signed up at each of ``providers`` and at the city's
    departments: (their browser, their card)."""
    browser = Browser(world.idp.url)
    card = world.parties.adult_card()
    browser.onboard(card)
    for slug in providers:
        sign_up(browser, world, slug)
    share_with_departments(browser, world)
    return browser, card


def provider_address(browser: Browser, world: World, slug: str) -> str:
    page = browser.http.get(f"{world.providers.url}/{slug}/", timeout=10).text
    found = re.search(r'<dd data-field="address">([^<]*)</dd>', page)
    assert found, page[:2000]
    return unescape(found.group(1))


def provider_changes(browser: Browser, world: World, slug: str) -> list[str]:
    """The sources of the provider's change history for this customer, newest first (signup/login/event)."""
    page = browser.http.get(f"{world.providers.url}/{slug}/", timeout=10).text
    return re.findall(r'<tr data-source="([a-z]+)">', page)


def department_addresses(browser: Browser, world: World) -> dict[str, str]:
    page = browser.http.get(f"{world.city.url}/departments/", timeout=10).text
    return {code: unescape(value) for code, value in re.findall(r'<dd data-department="([a-z]+)">([^<]*)</dd>', page)}


def department_changes(browser: Browser, world: World) -> list[str]:
    page = browser.http.get(f"{world.city.url}/departments/", timeout=10).text
    return re.findall(r'<tr data-source="([a-z]+)">', page)


def choose_forwarding(browser: Browser, world: World, client_ids: set[str]) -> dict[str, str]:
    """Tick ``client_ids`` on the idp's "I moved" page and confirm; every listed service's status after."""
    idp = world.idp.url
    page = browser.http.get(f"{idp}/me/moving/", timeout=10)
    assert page.status_code == 200, page.text[:500]
    form = next(form for form in forms(page.text) if any(f.get("name") == "forward" for f in form["fields"]))
    listed = {f["value"] for f in form["fields"] if f.get("name") == "forward"}
    assert client_ids <= listed, listed
    data = [("csrfmiddlewaretoken", _csrf(page.text, form["action"]))]
    data += [("forward", client_id) for client_id in sorted(client_ids)]
    saved = browser.http.post(urljoin(page.url, form["action"]) if form["action"] else page.url, data=data,
                              headers={"Origin": idp, "Referer": page.url}, timeout=10)  # fmt: skip
    assert saved.status_code == 200, saved.text[:500]
    return moving_status(browser, world)


def moving_status(browser: Browser, world: World) -> dict[str, str]:
    """Each service on the "I moved" page: its client_id → address update status (none/pending/…/delivered)."""
    page = browser.http.get(f"{world.idp.url}/me/moving/", timeout=10).text
    ids = re.findall(r'name="forward" value="([^"]+)"', page)
    statuses = re.findall(r'data-status="([a-z]+)"', page)
    assert len(ids) == len(statuses), page[:2000]
    return dict(zip(ids, statuses, strict=True))


def give_refresh_consent(browser: Browser, world: World, card: dict[str, Any]) -> None:
    """The refresh consent: the idp's document, signed by the card (as the card helper does), lodged at jlis."""
    idp = world.idp.url
    page = browser.http.get(f"{idp}/me/refresh-consent/", timeout=10)
    assert page.status_code == 200, page.text[:500]
    document = unescape(re.search(r'data-document="([^"]*)"', page.text).group(1))  # type: ignore[union-attr]
    document, parsed = check_consent_request({"document": document}, idp)
    signed = sign_consent(lambda: JPKICard(EmulatorTransport(card["card_file"])), lambda prompt: card["signature_pin"],
                          idp, document, parsed)  # fmt: skip
    answer = browser.http.post(f"{idp}/me/refresh-consent/complete/", json={"document": document, **signed.as_json()},
                               headers={"X-CSRFToken": browser.http.cookies.get("csrftoken", ""), "Origin": idp},
                               timeout=60)  # fmt: skip
    assert answer.status_code == 200, answer.text


def move(world: World, card: dict[str, Any], address: str) -> None:
    world.cli(world.jlis, "move", "--resident", str(card["resident_id"]), "--address", address)
