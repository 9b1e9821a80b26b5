"""Accessibility, measured in a real browser (Playwright on Debian's Chromium) over every page of every party:
jlis's staff pages, the idp, the city (resident and staff pages) and the sample providers — logged out and logged
in, Japanese and English, 320 px (reflow), 390 px and 1280 px (axe-core, WCAG 2.2 AA, no serious or critical
violation). The parties are the interop fixture's real processes (``world``: jlis, idp, city, providers), started
once for the run; one browser walks a table of page states (tests/support/a11y.py), so a new party adds its rows.

Also here: the keyboard-only journey (card onboarding → passkey → city login → booking without a mouse, focus
visible, 200 % zoom) and the screenshot set a reviewer pages through (docs/screens.md says where it goes).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from anchorid.city.rp.setup import load_config as city_config
from support import a11y
from support.a11y import PageState

from .harness import Browser, Server, base_env, free_port, run
from .lifecycle_harness import World

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.skipif(not Path(a11y.CHROMIUM).exists(), reason="needs Debian's chromium")
JLIS_STAFF_PASSWORD = "a11y jlis staff password"
FACILITY = "由比ガ浜公民館 ホール"  # a hall of the demo seed that is not held for the lottery


def cli_lines(server: Any, *args: str) -> str:
    env = dict(server.env, ANCHORID_DATA_DIR=str(server.data))
    done = subprocess.run([sys.executable, "-m", "anchorid.cli", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def seeded(world: World) -> dict[str, str]:
    """The demo's city seed (facilities, lottery rounds, a counter booking, the staff account) and a jlis staff
    account; returns the staff passwords."""
    lines = cli_lines(world.city, "city", "demo-seed", "--data", str(world.city.data), "--origin", world.city.url)
    staff_password = re.search(r"user staff\s+password (\S+)", lines)
    assert staff_password, lines
    run(
        "jlis",
        "createstaff",
        "--data",
        str(world.jlis.data),
        "--username",
        "a11y",
        "--password-stdin",
        env=world.jlis.env,
        stdin=JLIS_STAFF_PASSWORD + "\n",
    )
    return {"city": staff_password.group(1), "jlis": JLIS_STAFF_PASSWORD}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=a11y.CHROMIUM, args=a11y.CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def virtual_authenticator(page: Any) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


#: The consent page's 必須/任意 badges as the resident saw them (filled in by :func:`resident_context`).
CONSENT_BADGES: list[dict[str, str]] = []
BADGE_STYLE = """els => els.map(e => { const s = getComputedStyle(e);
    return {text: e.innerText, background: s.backgroundColor, border: s.borderTopStyle}; })"""


def resident_context(chromium: Any, world: World) -> Any:
    """A resident onboarded with the card (scripted), the idp session taken into a browser context, logged in at
    the city (consent given) and signed up at one sample provider."""
    scripted = Browser(world.idp.url)
    scripted.onboard(world.parties.adult_card())
    context = chromium.new_context(viewport={"width": a11y.PHONE, "height": 844}, locale="ja-JP", bypass_csp=True)
    context.add_cookies([{"name": c.name, "value": c.value or "", "url": world.idp.url} for c in scripted.http.cookies])
    page = context.new_page()
    page.goto(f"{world.city.url}/")
    page.click("#login-anchorid")
    page.wait_for_selector("form.consent", timeout=30_000)
    CONSENT_BADGES.extend(page.eval_on_selector_all(".badge", BADGE_STYLE))
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(f"{world.city.url}/", timeout=30_000)
    page.close()
    return context


def staff_context(chromium: Any, url: str, username: str, password: str) -> Any:
    context = chromium.new_context(viewport={"width": a11y.DESKTOP, "height": 900}, locale="ja-JP", bypass_csp=True)
    page = context.new_page()
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.press("#id_password", "Enter")
    page.wait_for_load_state("load")
    page.close()
    return context


def links(context: Any, url: str, pattern: str) -> list[str]:
    """The distinct hrefs on a page that match a regular expression (absolute)."""
    page = context.new_page()
    page.goto(url)
    found: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    page.close()
    return list(dict.fromkeys(href for href in found if re.search(pattern, href)))


def page_states(world: World, contexts: dict[str, Any], journey: dict[str, str]) -> list[PageState]:
    """Every page of every existing party, as the table the walk goes through (a new party appends its rows)."""
    jlis, idp, city, providers = world.jlis.url, world.idp.url, world.city.url, world.providers.url
    resident, staff, jlis_staff = contexts["resident"], contexts["staff"], contexts["jlis-staff"]
    city_client = city_config(world.city.data)  # a logout the city asks for, without the ID token (the idp asks)
    logout_query = urlencode({"client_id": city_client.client_id, "state": "a11y",
                              "post_logout_redirect_uri": city_client.post_logout_redirect_uri})  # fmt: skip
    states = [
        PageState("jlis admin login", f"{jlis}/admin/login/"),
        PageState("jlis admin", f"{jlis}/admin/", "jlis-staff"),
        *[
            PageState(f"jlis {href.split('/admin/')[1]}", href, "jlis-staff", repeats=False)
            for href in links(jlis_staff, f"{jlis}/admin/", r"/admin/\w+/\w+/$")
        ],
        PageState("idp home", f"{idp}/", shot=True),
        PageState("idp login", f"{idp}/login/"),
        PageState("idp card login", f"{idp}/login/card/"),
        PageState("idp passkey login", f"{idp}/login/passkey/"),
        PageState("idp onboarding", f"{idp}/onboarding/", shot=True),
        PageState("idp verify", f"{idp}/verify/"),
        PageState("idp emergency stop", f"{idp}/stop/"),
        PageState("idp stop with card", f"{idp}/stop/card/"),
        PageState("idp resume with card", f"{idp}/resume/card/"),
        PageState("idp me", f"{idp}/me/", "resident", shot=True),
        PageState("idp links (none)", f"{idp}/me/links/", "resident"),
        PageState("idp activity", f"{idp}/me/activity/", "resident", shot=True),
        PageState("idp sign", f"{idp}/me/sign/", "resident", shot=True),
        PageState("idp moving", f"{idp}/me/moving/", "resident"),
        PageState("idp refresh consent", f"{idp}/me/refresh-consent/", "resident"),
        PageState("idp passkey register", f"{idp}/passkeys/register/", "resident"),
        PageState("idp delete", f"{idp}/me/delete/", "resident"),
        PageState("idp logout confirmation (RP-initiated)", f"{idp}/oidc/logout?{logout_query}", "resident"),
        PageState("idp logged out (RP-initiated)", f"{idp}/oidc/logout?client_id={city_client.client_id}"),
        PageState("city home", f"{city}/"),
        PageState("city logged out", f"{city}/logged-out/"),
        PageState("city resident home", f"{city}/", "resident", shot=True),
        PageState("city facilities", f"{city}/booking/", "resident", shot=True),
        *[
            PageState(f"city facility {n}", href, "resident", shot=n == 0)
            for n, href in enumerate(links(resident, f"{city}/booking/", r"/booking/facilities/\d+/$")[:2])
        ],
        PageState("city booking", journey["booking"], "keyboard", shot=True),
        PageState("city receipt", journey["receipt"], "keyboard", shot=True),
        PageState("city payment page", journey["payment"], "keyboard"),
        PageState("city groups", f"{city}/booking/groups/", "resident"),
        PageState("city lottery", f"{city}/lottery/", "resident", shot=True),
        *[
            PageState(f"city lottery round {n}", href, "resident")
            for n, href in enumerate(links(resident, f"{city}/lottery/", r"/lottery/\d+/$"))
        ],
        PageState("city departments", f"{city}/departments/", "resident"),
        PageState("city staff login", f"{city}/staff/login/"),
        *[
            PageState(f"city staff {href.split('/staff/')[1] or 'home'}", href, "staff")
            for href in links(staff, f"{city}/staff/", r"/staff/(\w+/)?$")
            if "logout" not in href
        ],
        *[
            PageState(f"city staff {href.split('/staff/')[1]}", href, "staff")
            for href in links(staff, f"{city}/staff/facilities/", r"/staff/facilities/(\d+|new)/(slots/)?$")[:3]
        ],
        *[
            PageState(f"city staff {href.split('/staff/')[1]}", href, "staff")
            for href in links(staff, f"{city}/staff/lottery/", r"/staff/lottery/(\d+|new)/$")[:2]
        ],
        *[
            PageState(f"city staff {href.split('/staff/')[1]}", href, "staff")
            for href in links(staff, f"{city}/staff/counter/", r"/staff/counter/\d+/$")[:1]
        ],
        PageState("providers index", f"{providers}/", shot=True),
        *[
            PageState(f"provider {href.rstrip('/').rsplit('/', 1)[1]}", href)
            for href in links(resident, f"{providers}/", r"/[\w-]+/$")
        ],
    ]
    return states


ZOOMED = {"width": 640, "height": 400}  # a 1280 × 800 screen at 200 % zoom


@pytest.fixture(scope="module")
def journey(chromium: Any, world: World, seeded: dict[str, str], card_helper: CardHelper) -> Iterator[dict[str, Any]]:
    """The keyboard-only journey at 200 % zoom: onboarding with the card (the page's button pressed with the
    keyboard; the real card helper, running in this process on the port the idp's page calls, reads the virtual card
    and takes the PIN from the test as a resident types it into the helper's own prompt), register a passkey, log
    out, log in at the city with the passkey through AnchorID, give consent, find a free slot in the availability
    grid, book it and pay — Tab, Enter and typing only, every focus visible, no page scrolling sideways. Yields the
    context (logged in) and the pages it reached."""
    context = chromium.new_context(viewport=ZOOMED, device_scale_factor=2, locale="ja-JP", bypass_csp=True)
    page = context.new_page()
    virtual_authenticator(page)
    idp, city = world.idp.url, world.city.url
    reached: dict[str, Any] = {"context": context, "sideways": []}

    def settle(url: str) -> None:
        page.wait_for_url(url, timeout=30_000)
        page.wait_for_load_state("load")
        if wide := a11y.sideways_scroll(page):
            reached["sideways"].append(f"{page.url}: {wide}")

    page.goto(f"{idp}/onboarding/")
    settle(f"{idp}/onboarding/")
    card = world.parties.adult_card()
    card_helper.insert(card, card["signature_pin"])
    a11y.tab_to(page, "#onboarding-start")
    page.keyboard.press("Enter")
    settle(f"{idp}/passkeys/register/")
    reached["onboarded"] = True
    a11y.tab_to(page, "#passkey-name")
    page.keyboard.type("キーボードの端末")
    a11y.tab_to(page, "#register-passkey")
    page.keyboard.press("Enter")
    settle(f"{idp}/me/")
    a11y.tab_to(page, "#logout")
    page.keyboard.press("Enter")
    settle(f"{idp}/login/")

    page.goto(f"{city}/")
    a11y.tab_to(page, "#login-anchorid")
    page.keyboard.press("Enter")
    settle(f"{idp}/login/?**")
    a11y.tab_to(page, "#choose-passkey")
    page.keyboard.press("Enter")
    settle(f"{idp}/login/passkey/**")
    a11y.tab_to(page, "#login-passkey")
    page.keyboard.press("Enter")
    page.wait_for_selector("form.consent", timeout=30_000)
    a11y.tab_to(page, 'button[name="decision"][value="allow"]')
    page.keyboard.press("Enter")
    settle(f"{city}/")

    a11y.tab_to(page, "#book-facility")
    page.keyboard.press("Enter")
    settle(f"{city}/booking/")
    hall = page.locator("#facilities a", has_text=FACILITY).first.get_attribute("href")
    a11y.tab_to(page, f'#facilities a[href="{hall}"]')
    page.keyboard.press("Enter")
    settle(f"{city}/booking/facilities/**")
    a11y.tab_to(page, 'td[data-state="free"] button', limit=200)
    reached["slot_name"] = page.evaluate("() => document.activeElement.innerText")
    page.keyboard.press("Enter")
    page.wait_for_selector('#status[data-status="tentative"]', timeout=30_000)
    reached["booking"] = page.url
    a11y.tab_to(page, "#pay")
    page.keyboard.press("Enter")
    page.wait_for_selector("#simulated-pay", timeout=30_000)
    reached["payment"] = page.url
    a11y.tab_to(page, "#simulated-pay")
    page.keyboard.press("Enter")
    page.wait_for_selector('#status[data-status="confirmed"]', timeout=30_000)
    a11y.tab_to(page, "#receipt-link")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt", timeout=30_000)
    reached["receipt"] = page.url
    page.close()
    yield reached
    context.close()


@pytest.fixture(scope="module")
def contexts(chromium: Any, world: World, seeded: dict[str, str], journey: dict[str, Any]) -> dict[str, Any]:
    return {
        "anonymous": chromium.new_context(locale="ja-JP", bypass_csp=True),
        "resident": resident_context(chromium, world),
        "keyboard": journey["context"],
        "staff": staff_context(chromium, f"{world.city.url}/staff/login/", "staff", seeded["city"]),
        "jlis-staff": staff_context(chromium, f"{world.jlis.url}/admin/login/", "a11y", seeded["jlis"]),
    }


def test_it_books_and_pays_with_the_keyboard_alone_at_200_percent_zoom(journey: dict[str, Any]) -> None:
    assert journey["onboarded"]
    assert "/booking/bookings/" in journey["booking"]
    assert "/booking/receipts/" in journey["receipt"]
    assert re.search(r"\d{1,2}:\d{2}", journey["slot_name"]), journey["slot_name"]  # the button names its time
    assert not journey["sideways"], journey["sideways"]


def test_it_finds_no_serious_axe_violation_no_sideways_scroll_and_no_repeated_names_on_any_page(
    world: World, contexts: dict[str, Any], journey: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    states = page_states(world, contexts, journey)
    origins = [world.jlis.url, world.idp.url, world.city.url, world.providers.url]
    screens = Path(os.environ.get("ANCHORID_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    screens.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[str, str, str]] = []

    def shoot(page: Any, state: PageState, variant: str) -> None:
        if state.shot:
            name = re.sub(r"[^\w]+", "-", state.name).strip("-")
            page.screenshot(path=str(screens / f"{name}.{variant}.png"), full_page=True)
            shots.append((state.name, variant, f"{name}.{variant}.png"))

    started = time.monotonic()
    walked = a11y.walk(contexts, states, origins, on_page=shoot)
    index = a11y.screenshot_index(screens, shots)
    print(f"walked {len(states)} page states x 2 languages in {time.monotonic() - started:.0f} s; screens: {index}",
          {step: round(seconds) for step, seconds in walked.seconds.items()})  # fmt: skip
    assert len(shots) == 4 * sum(state.shot for state in states)
    assert walked.checked == 2 * len(states), a11y.report(walked)
    assert not walked.findings, a11y.report(walked)


# --- Issue 18 (H5): the guardians' pages, the rest of the idp and the e-library -------------------------------------
# Its own block (fixtures, rows, one walk) so the other parties' blocks merge beside it. The card helper runs in this
# process on the port the world's idp calls (lifecycle_harness gives it one), as a resident runs it: the browser's
# pages reach it, as in tests/interop/test_browser_guardian.py.

YOKOHAMA_LIBRARY, KAMAKURA = "141003", "142042"


class CardHelper:
    """The resident's card helper (anchorid.cardhelper) over virtual cards; the test puts a card on the reader."""

    def __init__(self, port: int, idp: str) -> None:
        from anchorid.cardhelper.helper import CardHelperServer
        from anchorid.jpki.client import JPKICard
        from anchorid.jpki.transport import EmulatorTransport

        self.card: dict[str, Any] = {}
        self.pin = ""

        def open_card() -> JPKICard:
            return JPKICard(EmulatorTransport(self.card["card_file"]))

        self.server = CardHelperServer(port=port, idp_origin=idp, pin_source=lambda prompt: self.pin,
                                       open_card=open_card)  # fmt: skip
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def insert(self, card: dict[str, Any], pin: str) -> None:
        self.card, self.pin = card, pin


@pytest.fixture(scope="module")
def card_helper(world: World) -> Iterator[CardHelper]:
    helper = CardHelper(int(world.idp.env["ANCHORID_CARD_HELPER_PORT"]), world.idp.url)
    try:
        yield helper
    finally:
        helper.server.shutdown()
        helper.server.server_close()


def card_context(chromium: Any, world: World, card: dict[str, Any]) -> Any:
    """A browser context logged in at the idp with ``card`` (the onboarding scripted, as in the other tests)."""
    scripted = Browser(world.idp.url)
    scripted.onboard(card)
    context = chromium.new_context(viewport={"width": a11y.PHONE, "height": 844}, locale="ja-JP", bypass_csp=True)
    context.add_cookies([{"name": c.name, "value": c.value or "", "url": world.idp.url} for c in scripted.http.cookies])
    return context


def checked_here(page: Any, name: str) -> list[str]:
    """A page that cannot be loaded again by its URL (a one-time authorization request): reflow at 320 px and axe
    at 390 px where it stands."""
    page.set_viewport_size({"width": a11y.REFLOW, "height": 800})
    found = [f"{name}: reflow {', '.join(wide)}" for wide in [a11y.sideways_scroll(page)] if wide]
    page.set_viewport_size({"width": a11y.PHONE, "height": 900})
    return found + [f"{name}: {v}" for v in a11y.axe_violations(page, a11y.axe_source())]


@pytest.fixture(scope="module")
def guardians(chromium: Any, world: World, card_helper: CardHelper, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Two families from J-LIS's register (``anchorid jlis family``): the first guardian adds the child with both
    cards, the child sets up a passkey and asks the city for a login (the approval waits on the guardian's page);
    the second guardian has done the child's card step only (the guardian's card step is the page left)."""
    root, idp = tmp_path_factory.mktemp("a11y-families"), world.idp.url
    fifteen = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
    family_args = ("family", "--child-turns-15-on", fifteen, "--cards-dir")
    families = [json.loads(world.cli(world.jlis, *family_args, str(root / str(n)), "--seed", str(n))) for n in (18, 19)]
    found: list[str] = []
    contexts = {"guardian": card_context(chromium, world, families[0]["guardian"]),
                "guardian-midway": card_context(chromium, world, families[1]["guardian"])}  # fmt: skip
    setup = code = ""
    for who, family in zip(list(contexts), families, strict=True):
        page = contexts[who].new_page()
        page.goto(f"{idp}/me/children/add/")
        card_helper.insert(family["child"], family["child"]["authentication_pin"])
        page.click("#card-start")
        page.wait_for_url(f"{idp}/me/children/add/guardian/", timeout=30_000)
        if who == "guardian-midway":  # asks for the city counter too (a code on "My children")
            page.click("#request-counter")
            page.wait_for_url(f"{idp}/me/children/", timeout=30_000)
            code = page.locator("#counter-requests .counter-code").first.inner_text()
        if who == "guardian":
            card_helper.insert(family["guardian"], family["guardian"]["signature_pin"])
            page.click("#consent-start")
            page.wait_for_url(f"{idp}/me/children/", timeout=30_000)
            page.click("#setup-link-1")
            setup = page.locator("#setup-link a").get_attribute("href")
            kid_context = chromium.new_context(viewport={"width": a11y.PHONE, "height": 844}, locale="ja-JP",
                                               bypass_csp=True)  # fmt: skip
            kid = kid_context.new_page()
            virtual_authenticator(kid)
            kid.goto(str(setup))
            card_helper.insert(family["child"], family["child"]["authentication_pin"])
            kid.click("#card-start")
            kid.wait_for_url(f"{idp}/passkeys/register/**", timeout=30_000)
            kid.fill("#passkey-name", "こどもの端末")
            kid.click("#register-passkey")
            kid.wait_for_url(f"{idp}/me/", timeout=30_000)
            kid.goto(f"{world.city.url}/")
            kid.click("#login-anchorid")
            kid.wait_for_selector("#guardian-waiting", timeout=30_000)
            found += checked_here(kid, "idp guardian waiting")
            kid_context.close()
            page.goto(f"{idp}/me/children/")
            page.click("#setup-link-1")  # a fresh link for the set-up page's row (the first one is used)
            setup = str(page.locator("#setup-link a").get_attribute("href"))
        page.close()
    run("idp", "guardians", "counter-staff", "--data", str(world.idp.data), "--username", "a11y-counter",
        env=world.idp.env, stdin=JLIS_STAFF_PASSWORD + "\n")  # fmt: skip
    contexts["counter-staff"] = staff_context(chromium, f"{idp}/admin/login/?next=/staff/guardians/", "a11y-counter",
                                              JLIS_STAFF_PASSWORD)  # fmt: skip
    yield {"contexts": contexts, "setup": setup, "code": code, "found": found}
    for context in contexts.values():
        context.close()


@pytest.fixture(scope="module")
def library(chromium: Any, world: World, contexts: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[dict[str, Any]]:  # fmt: skip
    """The e-library (``anchorid serve library`` with the sample collection) registered at the world's idp, for
    Kamakura: the walk's resident registered there (consent given), borrowing one title and holding another; a
    library staff login."""
    root = tmp_path_factory.mktemp("a11y-library")
    url = f"http://127.0.0.1:{free_port()}"
    env = dict(base_env(), ANCHORID_LIBRARY_ORIGIN=url, ANCHORID_LIBRARY_CITY_CODE=KAMAKURA)
    server = Server("library", url, root / "library", env)
    run("library", "setup", "--data", str(server.data), "--idp", world.idp.url, "--origin", url,
        "--idp-data", str(world.idp.data), env=world.idp.env)  # fmt: skip
    run("library", "seed", "--data", str(server.data), env=env)
    run("library", "staff-add", "--data", str(server.data), "--username", "a11y", env=env,
        stdin=JLIS_STAFF_PASSWORD + "\n")  # fmt: skip
    server.start("/healthz")
    found: list[str] = []
    try:
        page = contexts["resident"].new_page()
        page.goto(f"{url}/")
        with page.expect_navigation(timeout=30_000):
            page.click("#login-anchorid")
        if page.url.startswith(world.idp.url):
            page.wait_for_selector("form.consent", timeout=30_000)
            found += checked_here(page, "idp consent (library)")
            with page.expect_navigation(url=lambda u: u.startswith(url), timeout=30_000):
                page.click('button[name="decision"][value="allow"]')
        titles = links(contexts["resident"], f"{url}/", r"/titles/\d+/$")  # the new arrivals
        page.goto(titles[0])
        page.click("#borrow")
        page.wait_for_url(f"{url}/loans/*/read/", timeout=30_000)
        reader = page.url
        page.goto(titles[1])
        page.click("#hold")
        page.wait_for_load_state("load")
        page.close()
        staff = staff_context(chromium, f"{url}/staff/login/", "a11y", JLIS_STAFF_PASSWORD)
        yield {"url": url, "reader": reader, "titles": titles, "staff": staff, "found": found, "server": server}
        staff.close()
    finally:
        server.stop()


def guardian_and_library_states(world: World, guardians: dict[str, Any], library: dict[str, Any]) -> list[PageState]:
    """The idp's guardian pages and the e-library's pages (resident and staff), logged out and in."""
    idp, lib = world.idp.url, library["url"]
    return [
        PageState("idp my children", f"{idp}/me/children/", "guardian", shot=True),
        PageState("idp add a child (child's card)", f"{idp}/me/children/add/", "guardian"),
        PageState("idp add a child (guardian's card)", f"{idp}/me/children/add/guardian/", "guardian-midway"),
        PageState("idp my children (none yet)", f"{idp}/me/children/", "resident"),
        PageState("idp child set-up", guardians["setup"]),
        PageState("idp my children (at the counter)", f"{idp}/me/children/", "guardian-midway"),
        PageState("idp admin login", f"{idp}/admin/login/"),
        PageState("idp counter staff", f"{idp}/staff/guardians/", "counter-staff"),
        PageState("idp counter staff (a request)", f"{idp}/staff/guardians/?code={guardians['code']}", "counter-staff"),
        PageState("library home", f"{lib}/"),
        PageState("library home (patron)", f"{lib}/", "resident", shot=True),
        PageState("library search", f"{lib}/search/?q=%E3%81%86%E3%81%BF%E3%81%B9"),
        PageState("library browse", f"{lib}/browse/9/", "resident"),
        PageState("library title", library["titles"][2]),
        PageState("library title (on loan)", library["titles"][0], "resident"),
        PageState("library title (held)", library["titles"][1], "resident", shot=True),
        PageState("library reader", library["reader"], "resident", ready='#reader[data-ready="1"]', shot=True),
        PageState("library logged out", f"{lib}/logged-out/"),
        PageState("library staff login", f"{lib}/staff/login/"),
        PageState("library staff home", f"{lib}/staff/", "library-staff"),
        PageState("library staff licences", f"{lib}/staff/licences/", "library-staff"),
        PageState("library staff statistics", f"{lib}/staff/stats/", "library-staff"),
        PageState("library staff support", f"{lib}/staff/support/", "library-staff"),
        PageState("library admin login", f"{lib}/admin/login/"),
    ]


def test_it_finds_no_serious_axe_violation_no_sideways_scroll_and_no_repeated_names_on_the_guardian_and_library_pages(
    world: World, contexts: dict[str, Any], guardians: dict[str, Any], library: dict[str, Any]
) -> None:
    states = guardian_and_library_states(world, guardians, library)
    walkers = dict(guardians["contexts"])
    walkers.update({"library-staff": library["staff"], "anonymous": contexts["anonymous"],
                    "resident": contexts["resident"]})  # fmt: skip
    started = time.monotonic()
    walked = a11y.walk(walkers, states, [world.idp.url, library["url"]])
    print(f"walked {len(states)} guardian and library page states x 2 languages in {time.monotonic() - started:.0f} s",
          {step: round(seconds) for step, seconds in walked.seconds.items()})  # fmt: skip
    assert walked.checked == 2 * len(states), a11y.report(walked)
    assert not walked.findings, a11y.report(walked)
    assert not guardians["found"] + library["found"], guardians["found"] + library["found"]


ONE_LINE = """(selector) => [...document.querySelectorAll(selector)].filter(e => e.getClientRects().length).map(e => {
    const range = document.createRange(); range.selectNodeContents(e);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    return {text: e.innerText.trim(), lines: tops.size}; })"""


def test_it_keeps_the_layout_fixes_found_by_eye(world: World, contexts: dict[str, Any]) -> None:
    """Issue 18 §3's layout items, each measured: 「変更」 on one line at 1280 px on every site; the staff header's
    items never break inside a word; the city home no wider than a 390 px phone; the lottery's entry form before its
    slot list (within the first screens, not after 90 rows); the consent page's 必須/任意 badges outlined, not
    filled like selected text."""
    page = contexts["resident"].new_page()
    page.set_viewport_size({"width": a11y.DESKTOP, "height": 900})
    for url in (world.idp.url, world.city.url, world.providers.url):
        page.goto(f"{url}/")
        buttons = page.evaluate(ONE_LINE, ".lang-form button")
        assert buttons, url
        assert all(b["lines"] == 1 for b in buttons), (url, buttons)
    page.set_viewport_size({"width": a11y.PHONE, "height": 844})
    page.goto(f"{world.city.url}/")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= a11y.PHONE
    rounds = links(contexts["resident"], f"{world.city.url}/lottery/", r"/lottery/\d+/$")
    page.goto(rounds[0])
    form_top = page.evaluate("() => document.getElementById('entry-form').getBoundingClientRect().top")
    slots_top = page.evaluate("() => document.getElementById('round-slots').getBoundingClientRect().top")
    assert form_top < slots_top
    assert form_top < 3 * 844, form_top
    page.close()
    staff = contexts["staff"].new_page()
    staff.set_viewport_size({"width": a11y.DESKTOP, "height": 900})
    staff.goto(f"{world.city.url}/staff/")
    items = staff.evaluate(ONE_LINE, ".staff-nav a, .staff-nav button, .lang-form button")
    assert len(items) > 3
    assert all(item["lines"] == 1 for item in items), items
    staff.close()
    assert {badge["text"] for badge in CONSENT_BADGES} >= {"必須", "任意"}, CONSENT_BADGES
    for badge in CONSENT_BADGES:
        assert badge["background"] in ("rgba(0, 0, 0, 0)", "transparent"), badge
        assert badge["border"] == "solid", badge


# -- The local currency (issue #14): its own server beside the world's idp, walked on its own -----------------------


@pytest.fixture(scope="module")
def currency_server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``anchorid serve currency`` registered with the world's idp, seeded as the demo seeds it (merchants, a
    campaign, an open benefit, the issuer's staff login)."""
    from anchorid.currency import demo as currency_demo

    from .harness import Server, free_port

    root = tmp_path_factory.mktemp("a11y-currency")
    url = f"http://127.0.0.1:{free_port()}"
    env = dict(world.city.env, ANCHORID_CURRENCY_ORIGIN=url)
    env.pop("ANCHORID_CITY_ORIGIN", None)
    server = Server("currency", url, root / "currency", env)
    run("currency", "setup", "--data", str(server.data), "--idp", world.idp.url, "--origin", url,
        "--idp-data", str(world.idp.data), "--sector-identifier-uri", currency_demo.SECTOR,
        env=world.idp.env)  # fmt: skip
    seeded = run("currency", "seed-demo", "--data", str(server.data), env=env)
    server.start("/")
    server.seeded = seeded  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def currency_walk(chromium: Any, world: World, currency_server: Any) -> dict[str, Any]:
    """A resident signed up at the currency (consent given), with coins, a shop of their own and a payment code
    shown; the issuer's staff logged in. Returns the contexts and the URLs only a session reaches."""
    from anchorid.currency import demo as currency_demo

    shop_url = currency_server.url
    scripted = Browser(world.idp.url)
    scripted.onboard(world.parties.adult_card())
    resident = chromium.new_context(viewport={"width": a11y.PHONE, "height": 844}, locale="ja-JP", bypass_csp=True)
    resident.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": world.idp.url} for c in scripted.http.cookies]
    )
    page = resident.new_page()
    page.goto(f"{shop_url}/")
    page.click("#login-anchorid")
    page.wait_for_selector("form.consent", timeout=30_000)
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(f"{shop_url}/", timeout=30_000)
    page.fill("#charge-amount", "3000")
    page.click("#charge")
    page.wait_for_selector(".notice--success")
    page.click("#register-shop")
    page.fill("#shop-name", "アクセシビリティ商店")
    page.click("#register")
    page.wait_for_selector("#merchant-status")
    merchant = page.url
    page.goto(f"{shop_url}/")
    page.click("#show-code")
    page.wait_for_selector("#code-payload")
    code = page.url
    page.close()
    links = link_consents(world, resident, back=f"{shop_url}/callback/")
    pay = re.search(r"(/pay/[\w-]+/)", currency_server.seeded)
    assert pay, currency_server.seeded
    staff = staff_context(
        chromium, f"{shop_url}/admin/login/?next=/issuer/", currency_demo.STAFF_USER, currency_demo.STAFF_PASSWORD
    )
    return {
        "contexts": {"anonymous": chromium.new_context(locale="ja-JP", bypass_csp=True), "currency-resident": resident,
                     "currency-staff": staff},
        "merchant": merchant, "code": code, "pay": f"{shop_url}{pay.group(1)}", "link_consent": links,
    }  # fmt: skip


def link_consents(world: World, resident: Any, *, back: str) -> str:
    """The idp's link pages (issue #17) with the currency as the target: the demo's link scopes and offers registered
    at the world's idp, the city → currency balance link approved by the resident (so 連携 lists it), and a second
    offer with an RFC 9396 cap left unanswered. Returns that second offer's consent page."""
    from urllib.parse import urlencode

    from anchorid.idp.links import demo as links_demo

    links_demo.set_up(world.idp.data, env=world.idp.env)
    run("idp", "links", "offer", "add", "--data", str(world.idp.data), "--id", "a11y-city-credit", "--source", "city",
        "--target", "currency", "--scope", "currency:credit", "--purpose-ja", "アクセシビリティ確認のための連携",
        "--purpose-en", "A link for the accessibility walk", "--days", "30",
        "--details", '[{"type":"anchorid_currency_credit","max_yen_per_month":500}]', env=world.idp.env)  # fmt: skip
    page = resident.new_page()
    page.goto(f"{world.idp.url}/links/consent/?" + urlencode({"offer": "city-to-currency", "return_to": back}))
    with page.expect_navigation():
        page.click('button[name="decision"][value="approve"]')
    page.close()
    return f"{world.idp.url}/links/consent/?" + urlencode({"offer": "a11y-city-credit", "return_to": back})


def currency_states(url: str, walk: dict[str, Any]) -> list[PageState]:
    """Every page of the currency: the welcome page, the resident's wallet (charge, pay, benefits, history), paying a
    shop, the payment code, sending and receiving, shop registration, the shop's page and terminal, the issuer's
    staff pages and the analytics dashboard."""
    return [
        PageState("currency welcome", f"{url}/"),
        PageState("currency logged out", f"{url}/logged-out/"),
        PageState("currency wallet", f"{url}/", "currency-resident"),
        PageState("currency pay", walk["pay"], "currency-resident"),
        PageState("currency payment code", walk["code"], "currency-resident"),
        PageState("currency send", f"{url}/send/", "currency-resident"),
        PageState("currency receive", f"{url}/receive/", "currency-resident"),
        PageState("currency shop registration", f"{url}/merchant/register/", "currency-resident"),
        PageState("currency shop", walk["merchant"], "currency-resident"),
        PageState("currency terminal", f"{walk['merchant']}terminal/", "currency-resident"),
        PageState("currency issuer", f"{url}/issuer/", "currency-staff"),
        PageState("currency analytics", f"{url}/issuer/analytics/", "currency-staff"),
        PageState("idp link consent (a cap per month)", walk["link_consent"], "currency-resident"),
        PageState("idp links (one link)", walk["link_consent"].split("/links/")[0] + "/me/links/", "currency-resident"),
    ]


def test_it_finds_no_serious_axe_violation_no_sideways_scroll_and_no_repeated_names_on_the_currency(
    world: World, currency_server: Any, currency_walk: dict[str, Any]
) -> None:
    states = currency_states(currency_server.url, currency_walk)
    walked = a11y.walk(currency_walk["contexts"], states, [currency_server.url, world.idp.url])
    assert walked.checked == 2 * len(states), a11y.report(walked)
    assert not walked.findings, a11y.report(walked)


# -- The participation platform (issue #15): its own server beside the world's idp, walked on its own --------------


@pytest.fixture(scope="module")
def participation_server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``anchorid serve participation`` registered with the world's idp (on 127.0.0.1: a sector of its own), seeded
    as the demo seeds it: one process in each phase, a debate, a survey, a placed proposal, the staff login."""
    from .harness import Server, base_env, free_port

    root = tmp_path_factory.mktemp("a11y-participation")
    url = f"http://127.0.0.1:{free_port()}"
    server = Server("participation", url, root / "participation", dict(base_env(), ANCHORID_PARTICIPATION_ORIGIN=url))
    run("participation", "setup", "--data", str(server.data), "--idp", world.idp.url, "--origin", url,
        "--idp-data", str(world.idp.data), env=world.idp.env)  # fmt: skip
    server.start("/healthz")
    run("participation", "demo", "--data", str(server.data), env=server.env)
    try:
        yield server
    finally:
        server.stop()


def participation_states(base: str, contexts: dict[str, Any]) -> list[PageState]:
    """The platform's pages: the process list, each process in its phase, a proposal (with its place), a debate, the
    vote page (a resident), results, a meeting, a survey and its results, search, notifications, and the staff pages."""
    from anchorid.participation.demo import SLUGS

    anonymous = contexts["participation-anonymous"]
    ideas = f"{base}/processes/{SLUGS['ideas']}/"
    return [
        PageState("participation home", f"{base}/", "participation-anonymous"),
        *[
            PageState(f"participation process {phase}", f"{base}/processes/{slug}/", "participation-anonymous")
            for phase, slug in SLUGS.items()
        ],
        *[
            PageState(f"participation proposal {n}", href, "participation-anonymous")
            for n, href in enumerate(links(anonymous, ideas, r"/proposals/\d+/$")[:1])
        ],
        *[
            PageState("participation debate", href, "participation-anonymous")
            for href in links(anonymous, f"{base}/processes/{SLUGS['debate']}/", r"/debates/\d+/$")[:1]
        ],
        *[
            PageState(f"participation meeting {n}", href, "participation-anonymous")
            for n, href in enumerate(links(anonymous, f"{base}/processes/{SLUGS['followup']}/", r"/meetings/\d+/$")[:1])
        ],
        *[
            PageState(f"participation survey{' results' if 'results' in href else ''}", href, "participation-anonymous")
            for href in links(anonymous, ideas, r"/surveys/\d+/(results/)?$")[:2]
        ],
        PageState("participation vote (resident)", f"{base}/processes/{SLUGS['vote']}/vote/", "participation-resident"),
        PageState("participation results", f"{base}/processes/{SLUGS['results']}/results/", "participation-anonymous"),
        PageState("participation search", f"{base}/search/?q=%E5%85%AC%E5%9C%92", "participation-anonymous"),
        PageState("participation notifications", f"{base}/notifications/", "participation-resident"),
        PageState("participation logged out", f"{base}/logged-out/", "participation-anonymous"),
        PageState("participation staff login", f"{base}/admin/login/?next=/staff/"),
        PageState("participation staff", f"{base}/staff/", "participation-staff"),
        *[
            PageState(f"participation staff {phase}", f"{base}/staff/{slug}/", "participation-staff")
            for phase, slug in SLUGS.items()
            if phase in ("ideas", "vote")  # the survey moderation; the frozen weights
        ],
    ]


@pytest.fixture(scope="module")
def participation_contexts(chromium: Any, world: World, participation_server: Any) -> Iterator[dict[str, Any]]:
    """The platform's visitors: anonymous, a resident logged in with AnchorID (consent given), the staff."""
    from anchorid.participation.demo import STAFF_PASSWORD, STAFF_USER

    base = participation_server.url
    scripted = Browser(world.idp.url)
    scripted.onboard(world.parties.adult_card())
    resident = chromium.new_context(viewport={"width": a11y.PHONE, "height": 844}, locale="ja-JP", bypass_csp=True)
    resident.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": world.idp.url} for c in scripted.http.cookies]
    )
    page = resident.new_page()
    page.goto(f"{base}/")
    page.click("#login-anchorid")
    page.wait_for_selector("form.consent", timeout=30_000)
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(f"{base}/", timeout=30_000)
    page.close()
    contexts = {
        "anonymous": chromium.new_context(locale="ja-JP", bypass_csp=True),
        "participation-anonymous": chromium.new_context(locale="ja-JP", bypass_csp=True),
        "participation-resident": resident,
        "participation-staff": staff_context(chromium, f"{base}/admin/login/?next=/staff/", STAFF_USER, STAFF_PASSWORD),
    }
    yield contexts
    for context in contexts.values():
        context.close()


def test_it_walks_the_participation_pages_without_findings(
    participation_server: Any, participation_contexts: dict[str, Any]
) -> None:
    base = participation_server.url
    states = participation_states(base, participation_contexts)
    assert len(states) == 20, [s.name for s in states]  # every kind of page found its link
    started = time.monotonic()
    walked = a11y.walk(participation_contexts, states, [base])
    print(f"walked {len(states)} participation page states x 2 languages in {time.monotonic() - started:.0f} s")
    assert walked.checked == 2 * len(states), a11y.report(walked)
    assert not walked.findings, a11y.report(walked)


# -- Issue 18 (H18): page states a resident reaches only after a journey --------------------------------------------
# The city's home with the linked services' panels (the invitations, then what the services say), the health points
# app as a logged-in walker, a provider's page once signed up, another city's e-library refusing a resident. The
# servers are the module's own (the world's city, idp and providers; the e-library, the currency and the
# participation platform started for the walks above): nothing new is started, two are restarted with another
# setting.

#: What residents must never read on a page: URNs, scope strings (``library:loans``) and snake_case codes or claim
#: keys (``not_resident``, ``resident_of``).
INTERNAL_NAME = re.compile(r"\burn:[\w:.-]+|\b[a-z]+:[a-z]+(?:_[a-z]+)*\b|\b[a-z]{2,}(?:_[a-z]{2,})+\b")


#: The page's text as read (visible or for screen readers), without the random codes a resident is meant to copy.
PAGE_TEXT = """() => { const skip = 'script, style, noscript, template, #invite-code', texts = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode())
        if (!node.parentElement.closest(skip)) texts.push(node.data);
    return texts.join(' '); }"""


def internal_names(page: Any) -> list[str]:
    text: str = page.evaluate(PAGE_TEXT)
    return sorted(set(INTERNAL_NAME.findall(text)))


def reading_names(seen: dict[str, list[str]]) -> Callable[[Any, PageState, str], None]:
    """A walk's ``on_page``: the internal names (:func:`internal_names`) a state shows, read once per language (at
    390 px), into ``seen``."""

    def read(page: Any, state: PageState, variant: str) -> None:
        if variant.endswith(f"-{a11y.PHONE}") and (names := internal_names(page)):
            seen[f"{state.name} [{variant}]"] = names

    return read


@contextlib.contextmanager
def library_of(server: Any, city_code: str) -> Iterator[None]:
    """The module's e-library restarted as the library of another city (``city_code``); Kamakura's again after."""
    server.stop()
    server.env["ANCHORID_LIBRARY_CITY_CODE"] = city_code
    server.start("/healthz")
    try:
        yield
    finally:
        server.stop()
        server.env["ANCHORID_LIBRARY_CITY_CODE"] = KAMAKURA
        server.start("/healthz")


def log_in_at(page: Any, url: str, button: str, idp: str) -> None:
    """Press a relying party's "log in with AnchorID" button; consent at the idp when it asks; back at ``url``."""
    page.goto(url)
    with page.expect_navigation(timeout=30_000):
        page.click(button)
    if page.url.startswith(idp):
        page.wait_for_selector("form.consent", timeout=30_000)
        with page.expect_navigation(url=lambda u: not u.startswith(idp), timeout=30_000):
            page.click('button[name="decision"][value="allow"]')
    page.wait_for_load_state("load")


def panel_states(page: Any) -> dict[str, str]:
    found: dict[str, str] = page.eval_on_selector_all(
        "section.linked", "els => Object.fromEntries(els.map(e => [e.id.replace('linked-', ''), e.dataset.state]))"
    )
    return found


@pytest.fixture(scope="module")
def linked_city(world: World, contexts: dict[str, Any], library: dict[str, Any], currency_server: Any,
                participation_server: Any) -> Iterator[dict[str, Any]]:  # fmt: skip
    """The city's home set up as the demo sets it up (``city.linked_demo``: the module's e-library, currency and
    participation platform; the link offers at the idp, ``idp.links.demo``); the walk's resident (borrowing a book
    at the e-library) opens a wallet at the currency. Yields the walk of the home with the three invitations (before
    the resident links them on the idp's consent page, from the home) and the panels' states before and after."""
    from anchorid.city import linked_demo, linked_services
    from anchorid.idp.links import demo as links_demo

    city, idp, resident = world.city.url, world.idp.url, contexts["resident"]
    links_demo.set_up(world.idp.data, env=world.idp.env)
    origins = {"library": library["url"], "currency": currency_server.url, "participation": participation_server.url}
    linked_demo.set_up(world.city.data, origins=origins)
    try:
        page = resident.new_page()
        log_in_at(page, f"{currency_server.url}/", "#login-anchorid", idp)
        page.fill("#charge-amount", "2000")
        page.click("#charge")
        page.wait_for_selector(".notice--success")
        page.goto(f"{city}/")
        before = panel_states(page)
        invited = a11y.walk({"resident": resident}, [PageState("city resident home (invited to link)", f"{city}/",
                                                               "resident", ready="#for-you")], [city])  # fmt: skip
        for _ in origins:
            page.goto(f"{city}/")
            page.goto(str(page.locator("a[data-link-offer]").first.get_attribute("href")))
            with page.expect_navigation(url=lambda u: u.startswith(city), timeout=30_000):
                page.click('button[name="decision"][value="approve"]')
        page.goto(f"{city}/")
        after = panel_states(page)
        page.close()
        yield {"invited": invited, "before": before, "after": after}
    finally:
        (world.city.data / linked_services.LINKED_SERVICES_FILE).unlink(missing_ok=True)  # the home as it was


@pytest.fixture(scope="module")
def walker(world: World, contexts: dict[str, Any], currency_server: Any, linked_city: dict[str, Any]) -> str:
    """The health points app sending points to the module's currency (the world's providers restarted with its
    address; the app a partner of the currency, as the demo makes it): the walk's resident (with a wallet there, see
    ``linked_city``) logs in, records a walk, links the app to the currency on the idp's consent page and sends the
    points. Returns the app's URL."""
    from anchorid.providersim import demo as providersim_demo

    providers, idp = world.providers, world.idp.url
    providersim_demo.set_up_health(providers.data, currency_server.data, idp_origin=idp, idp_data=world.idp.data,
                                   providers_origin=providers.url, idp_env=world.idp.env,
                                   currency_env=currency_server.env)  # fmt: skip
    providers.stop()
    providers.env["ANCHORID_HEALTH_CURRENCY_URL"] = currency_server.url
    providers.start("/")
    health = f"{providers.url}/health/"
    page = contexts["resident"].new_page()
    log_in_at(page, health, "#login-anchorid", idp)
    page.fill("#walk-steps", "8000")
    with page.expect_navigation():
        page.click("#record-walk")
    with page.expect_navigation(url=lambda u: u.startswith(idp), timeout=30_000):
        page.click("#link-currency")
    with page.expect_navigation(url=lambda u: u.startswith(providers.url), timeout=30_000):
        page.click('button[name="decision"][value="approve"]')
    page.wait_for_url(health, timeout=30_000)
    with page.expect_navigation(timeout=30_000):
        page.click("#award")
    assert page.locator('#awards tr[data-state="done"]').count() == 1, page.locator("main").inner_text()
    page.close()
    return health


def test_it_walks_the_states_a_resident_reaches_after_a_journey_without_findings(
    world: World, contexts: dict[str, Any], library: dict[str, Any], currency_walk: dict[str, Any],
    linked_city: dict[str, Any], walker: str,
) -> None:  # fmt: skip
    """The city's home with the linked services shown (and, before, inviting to link), the health points app as a
    walker (and its answer to a refused entry), a provider's page once signed up, the e-library's refusal of a
    resident of another city: axe, reflow, repeated names, and no internal name on any of them."""
    city, idp, providers, lib = world.city.url, world.idp.url, world.providers.url, library["url"]
    assert set(linked_city["before"].values()) == {"not_linked"}, linked_city["before"]
    assert linked_city["after"] == {"library": "shown", "currency": "shown", "participation": "shown"}, linked_city
    slug = links(contexts["resident"], f"{providers}/", r"/(?!health/)[\w-]+/$")[0].rstrip("/").rsplit("/", 1)[1]
    page = contexts["resident"].new_page()
    log_in_at(page, f"{providers}/{slug}/", "#signup-anchorid", idp)
    page.goto(f"{city}/booking/groups/")
    page.fill("#group-name", "アクセシビリティの会")
    with page.expect_navigation():
        page.click('form:has(#group-name) button[type="submit"]')
    group = page.url
    assert re.search(r"/booking/groups/\d+/$", group), group
    page.close()
    seen: dict[str, list[str]] = {}
    read = reading_names(seen)
    states = [
        PageState("city resident home (linked services)", f"{city}/", "resident", ready="#linked-library .loans"),
        PageState("health points (walker)", walker, "resident", ready="#points-available"),
        PageState(f"provider {slug} (signed up)", f"{providers}/{slug}/", "resident", ready="#logged-in"),
        PageState("city group (representative)", group, "resident"),
    ]  # fmt: skip
    started = time.monotonic()
    walked = a11y.walk({"resident": contexts["resident"]}, states, [city, idp, providers], on_page=read)

    def refused_entry(page: Any) -> None:
        page.goto(walker)
        page.fill("#walk-steps", "たくさん")
        with page.expect_navigation():
            page.click("#record-walk")

    answers = a11y.walk_journeys(contexts["resident"], [(PageState("health points (a refused entry)", walker,
                                                                   ready=".notice--error"), refused_entry)],
                                 [providers], on_page=read)  # fmt: skip
    # Another city's e-library: the module's one restarted for Yokohama; a resident who never registered there.
    with library_of(library["server"], YOKOHAMA_LIBRARY):
        refusal = a11y.walk_journeys(
            currency_walk["contexts"]["currency-resident"],
            [(PageState("library refusal (another city's resident)", f"{lib}/callback/", ready="#refusal"),
              lambda page: log_in_at(page, f"{lib}/", "#login-anchorid", idp))],
            [lib, idp], on_page=read,
        )  # fmt: skip
    count = 1 + len(states) + 2  # the invitations (walked in ``linked_city``), these, the two answers
    print(f"walked {count} page states after journeys x 2 languages in {time.monotonic() - started:.0f} s")
    everything = [linked_city["invited"], walked, answers, refusal]
    assert sum(w.checked for w in everything) == 2 * count, [a11y.report(w) for w in everything]
    assert not [f for w in everything for f in w.findings], [a11y.report(w) for w in everything]
    assert not seen, seen


# -- Issue 18 (states): the answers to forms, and the pages a code or a mailed link opens ----------------------------
# Each party's pages that answer a POST (a success and a refusal or an invalid entry), the e-mail confirmations a
# resident opens from their mail (the parties' console e-mail backend writes the mails to their logs) and the page a
# phone's camera opens from the onboarding's QR code. The servers and contexts are the module's own.

Journey = tuple[PageState, Callable[[Any], None]]


def submit(page: Any, button: str) -> None:
    """Press a form's button and wait for the page that answers it."""
    with page.expect_navigation(timeout=30_000):
        page.click(button)


def answer(url: str, fields: dict[str, str], button: str, *, opening: str = "") -> Callable[[Any], None]:
    """A journey to a form's answer: open ``url`` (then click ``opening``, e.g. the <summary> the form is folded
    in), fill ``fields`` (selector: text) and press ``button``."""

    def arrive(page: Any) -> None:
        page.goto(url)
        if opening:
            page.click(opening)
        for selector, text in fields.items():
            page.fill(selector, text)
        submit(page, button)

    return arrive


def mailed_link(server: Any, path: str) -> str:
    """The newest link to ``path`` (a regular expression) in the e-mails ``server`` wrote to its log: the link the
    resident opens in their mail."""
    log = (server.data.parent / f"{server.name}.log").read_text("utf-8", "replace")
    found = re.findall(rf"https?://[\w.:-]+{path}", log)
    assert found, f"no e-mail with a link to {path} in {server.name}'s log"
    return str(found[-1])


def walk_answers(context: Any, journeys: list[Journey], origins: list[str], seen: dict[str, list[str]],
                 languages: tuple[str, ...] = a11y.LANGUAGES) -> a11y.Walked:  # fmt: skip
    started = time.monotonic()
    walked = a11y.walk_journeys(context, journeys, origins, languages=languages, on_page=reading_names(seen))
    print(f"walked {len(journeys)} answers x {len(languages)} languages in {time.monotonic() - started:.0f} s",
          {step: round(seconds) for step, seconds in walked.seconds.items()})  # fmt: skip
    return walked


def assert_clean(walks: list[a11y.Walked], count: int, seen: dict[str, list[str]]) -> None:
    """``count`` states each checked in both languages: no finding, no internal name shown."""
    assert sum(w.checked for w in walks) == 2 * count, [a11y.report(w) for w in walks]
    assert not [f for w in walks for f in w.findings], [a11y.report(w) for w in walks]
    assert not seen, seen


def test_it_walks_the_idp_pages_a_code_or_a_mailed_link_opens_without_findings(
    chromium: Any, world: World, contexts: dict[str, Any], tmp_path: Path
) -> None:
    """The page the onboarding's QR code opens on a phone (and for a code no longer valid); the contact e-mail's
    answers on "My page": the link sent, the link opened, a link not valid; a signature waiting for the wallet, its
    approval code opened in a browser (and one not valid), a prepared document's link once it is gone."""
    from anchorid.signing.samples import make_pdf

    idp, seen = world.idp.url, dict[str, list[str]]()

    def device_page(page: Any) -> None:
        page.goto(f"{idp}/onboarding/")
        page.goto(f"{idp}/onboarding/device/{page.locator('.onboarding-code strong').inner_text()}/")

    devices = walk_answers(contexts["anonymous"], [
        (PageState("idp device onboarding (from the QR code)", "", ready="#device-command"), device_page),
        (PageState("idp device onboarding (a code not valid)", "", ready="#device-refusal"),
         lambda page: page.goto(f"{idp}/onboarding/device/ZZZZ-ZZZZ/")),
    ], [idp], seen)  # fmt: skip
    mails = walk_answers(contexts["resident"], [
        (PageState("idp contact e-mail (link sent)", "", ready=".notice--success"),
         answer(f"{idp}/me/", {"#contact-address": "a11y@example.jp"}, "form:has(#contact-address) button")),
        (PageState("idp contact e-mail (confirmed)", "", ready=".notice--success"),
         lambda page: page.goto(mailed_link(world.idp, r"/me/notices/email/confirm/[^/\s]+/"))),
        (PageState("idp contact e-mail (a link not valid)", "", ready=".notice--error"),
         lambda page: page.goto(f"{idp}/me/notices/email/confirm/not-a-link/")),
    ], [idp], seen)  # fmt: skip
    document = make_pdf(tmp_path / "申請書.pdf")

    def waiting(page: Any) -> None:
        page.goto(f"{idp}/me/sign/")
        page.set_input_files("#document", str(document))
        page.check('input[name="method"][value="wallet"]')
        page.click("#sign")

    def approval(page: Any) -> None:  # from the page "waiting" left: the command it shows holds the code
        page.goto(f"{idp}/signing/approve/{page.locator('#wallet-command').inner_text().split()[3]}")

    signer = card_context(chromium, world, world.parties.adult_card())  # signing needs a fresh login
    signing = walk_answers(signer, [
        (PageState("idp sign (waiting for the wallet)", "", ready="#wallet-instructions:not([hidden])"), waiting),
        (PageState("idp signing approval (from the code)", "", ready="#wallet-command"), approval),
        (PageState("idp signing approval (a code not valid)", "", ready="#signing-refusal"),
         lambda page: page.goto(f"{idp}/signing/approve/not-a-code")),
        (PageState("idp prepared signature (gone)", "", ready="#signing-refusal"),
         lambda page: page.goto(f"{idp}/me/sign/sig_{'0' * 32}/prepared/")),
    ], [idp], seen)  # fmt: skip
    signer.close()
    assert_clean([devices, mails, signing], 9, seen)


#: Closes a lottery round's entries and draws it now (its entry period cut short), as the staff do when it ends:
#: ``python -c DRAW_NOW CITY_DATA ROUND_ID``.
DRAW_NOW = """import sys
from pathlib import Path
from anchorid.common.serve import prepare_party
prepare_party("city", Path(sys.argv[1]), migrate=False)
from django.utils import timezone
from anchorid.city.lottery import service
from anchorid.city.lottery.models import LotteryRound
LotteryRound.objects.filter(pk=int(sys.argv[2])).update(entries_close_at=timezone.now())
service.close_entries(LotteryRound.objects.get(pk=int(sys.argv[2])))
service.run_draw(LotteryRound.objects.get(pk=int(sys.argv[2])))
"""


def test_it_walks_the_city_answers_to_forms_without_findings(world: World, contexts: dict[str, Any]) -> None:
    """The counter's link code slip (staff), a booking cancelled, a lottery entry made and withdrawn, a win taken
    (the round drawn for the test: the walk's resident in Japanese, the keyboard journey's in English)."""
    city, seen = world.city.url, dict[str, list[str]]()
    resident = contexts["resident"]
    counter = links(contexts["staff"], f"{city}/staff/counter/", r"/staff/counter/\d+/$")[0]
    page = resident.new_page()
    round_ = ""
    for href in links(resident, f"{city}/lottery/", r"/lottery/\d+/$"):
        page.goto(href)
        round_ = href if page.locator("#entry-form").count() else round_
    a11y.set_language(resident, [city], "ja")  # the facility by its Japanese name
    page.goto(f"{city}/booking/")
    hall = page.locator("#facilities a", has_text=FACILITY).first.evaluate("link => link.href")
    page.close()
    assert round_, "no lottery round open for entries"

    def cancelled(page: Any) -> None:
        page.goto(hall)
        # the latest free slot: cancelling one that starts within two days costs a penalty point
        free = page.eval_on_selector_all('td[data-state="free"]', "cells => cells.map(cell => +cell.dataset.slot)")
        submit(page, f"#slot-{max(free)} button")
        page.wait_for_selector('#status[data-status="tentative"]')
        submit(page, "#cancel")

    def entered(choice: int) -> Callable[[Any], None]:
        def arrive(page: Any) -> None:
            page.goto(round_)
            page.select_option("#choice_1", index=choice)
            submit(page, "#enter-lottery")

        return arrive

    walks = [
        walk_answers(contexts["staff"], [(PageState("city staff counter (a link code issued)", "",
                                                    ready="#link-code-slip"), answer(counter, {}, "#issue-link-code"))],
                     [city], seen),
        walk_answers(resident, [
            (PageState("city booking (cancelled)", "", ready=".notice--success"), cancelled),
            (PageState("city lottery (entered)", "", ready=".notice--success"), entered(1)),
            (PageState("city lottery (entry withdrawn)", "", ready=".notice--success"),
             answer(round_, {}, 'form[action*="/withdraw/"] button')),
        ], [city], seen),
    ]  # fmt: skip
    for who, choice in (("resident", 1), ("keyboard", 2)):  # one win each (a resident wins once per round)
        page = contexts[who].new_page()
        entered(choice)(page)
        page.close()
    done = subprocess.run([sys.executable, "-c", DRAW_NOW, str(world.city.data), round_.rstrip("/").rsplit("/", 1)[1]],
                          env=world.city.env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    won = PageState("city lottery (a win taken)", "", ready=".notice--success")
    walks += [
        walk_answers(
            contexts[who], [(won, answer(round_, {}, 'button[id^="confirm-"]'))], [city], seen, languages=(language,)
        )
        for who, language in (("resident", "ja"), ("keyboard", "en"))
    ]
    assert_clean(walks, 5, seen)


def test_it_walks_the_library_answers_to_forms_without_findings(
    world: World, contexts: dict[str, Any], library: dict[str, Any], currency_walk: dict[str, Any],
    journey: dict[str, Any],
) -> None:  # fmt: skip
    """A patron's physical card linked (and a code not valid), the e-mail for notices saved (and one not valid); a
    resident of another city registering with the counter's code (and with a code not valid)."""
    lib, idp, server, seen = library["url"], world.idp.url, library["server"], dict[str, list[str]]()
    folded = "details:has(#card-code) summary"

    def card_linked(page: Any) -> None:
        code = run("library", "card-code", "--data", str(server.data), "--card", "20261207", env=server.env).strip()
        answer(f"{lib}/", {"#card-code": code}, "form:has(#card-code) button", opening=folded)(page)

    walks = [walk_answers(contexts["resident"], [
        (PageState("library card (linked)", "", ready=".notice--success"), card_linked),
        (PageState("library card (a code not valid)", "", ready=".notice--error"),
         answer(f"{lib}/", {"#card-code": "NOTACODE"}, "form:has(#card-code) button", opening=folded)),
        (PageState("library e-mail (saved)", "", ready=".notice--success"),
         answer(f"{lib}/", {"#email": "a11y@example.jp"}, "form:has(#email) button", opening=folded)),
        (PageState("library e-mail (not valid)", "", ready=".notice--error"),
         answer(f"{lib}/", {"#email": "a11y@example"}, "form:has(#email) button", opening=folded)),
    ], [lib], seen)]  # fmt: skip

    def registering(code: Callable[[], str]) -> Callable[[Any], None]:
        def arrive(page: Any) -> None:
            log_in_at(page, f"{lib}/", "#login-anchorid", idp)
            page.fill("#grant-code", code())
            submit(page, "form:has(#grant-code) button")

        return arrive

    registered = [
        (PageState("library registration code (not valid)", "", ready="#refusal"), registering(lambda: "NOTACODE")),
        (
            PageState("library registered with a code", "", ready=".notice--success"),
            registering(lambda: run("library", "grant", "--data", str(server.data), env=server.env).strip()),
        ),
    ]
    with library_of(server, YOKOHAMA_LIBRARY):  # residents of Kamakura who never registered: one per language
        walks += [walk_answers(context, registered, [lib, idp], seen, languages=(language,)) for context, language
                  in ((currency_walk["contexts"]["currency-resident"], "ja"), (journey["context"], "en"))]  # fmt: skip
    assert_clean(walks, 6, seen)


def test_it_walks_the_participation_answers_to_forms_without_findings(
    participation_server: Any, participation_contexts: dict[str, Any]
) -> None:
    """A resident proposes (and an empty idea is refused), edits the proposal, starts a debate and comments there,
    comments on a proposal (and replies to a comment not on the page), reports a proposal, votes (the receipt; and
    a ballot over the budget refused), gives an e-mail address and opens the mailed link (and a link not valid)."""
    from anchorid.participation.demo import SLUGS

    base, seen = participation_server.url, dict[str, list[str]]()
    ideas, debates = f"{base}/processes/{SLUGS['ideas']}/", f"{base}/processes/{SLUGS['debate']}/"
    anonymous = participation_contexts["participation-anonymous"]
    proposal = links(anonymous, ideas, r"/proposals/\d+/$")[0]
    debate = links(anonymous, debates, r"/debates/\d+/$")[0]
    idea = {"#title": "ベンチを増やす", "#body": "公園のベンチを増やしてください。"}

    def edited(title: str) -> Callable[[Any], None]:
        def arrive(page: Any) -> None:
            answer(ideas, idea, "#propose")(page)
            submit(page, f'a:has-text("{idea["#title"]}") >> nth=-1')
            answer(page.url, {"#edit-title": title}, "#edit-save", opening="#edit summary")(page)

        return arrive

    def voted(boxes: int) -> Callable[[Any], None]:
        def arrive(page: Any) -> None:
            page.goto(f"{base}/processes/{SLUGS['vote']}/vote/")
            for box in page.locator('input[name="option"]').all()[:boxes]:
                box.check()
            submit(page, "#cast-vote")

        return arrive

    journeys = [
        (PageState("participation proposal (proposed)", "", ready="#propose-form"), answer(ideas, idea, "#propose")),
        (PageState("participation proposal (an empty idea refused)", "", ready="#refusal"),
         answer(ideas, {"#title": " ", "#body": " "}, "#propose")),
        (PageState("participation proposal (edited)", "", ready="#proposal-title"), edited("ベンチと日陰を増やす")),
        (PageState("participation proposal (an edit without a title refused)", "", ready="#refusal"), edited(" ")),
        (PageState("participation debate (started)", "", ready="main"),
         answer(debates, {"#debate-title": "駐輪場", "form:has(#debate-title) textarea": "駐輪場を広げたい。"},
                "form:has(#debate-title) button")),
        (PageState("participation debate (a comment posted)", "", ready="main"),
         answer(debate, {"#comment-body": "賛成です。"}, "form:has(#comment-body) button")),
        (PageState("participation comment (posted)", "", ready="#comment-form"),
         answer(proposal, {"#comment-body": "良い案です。"}, "#comment")),
        (PageState("participation comment (a reply to a comment not on the page)", "", ready="#refusal"),
         answer(proposal, {"#comment-body": "返信です。", "#comment-parent": "999999"}, "#comment")),
        (PageState("participation report (thanked)", "", ready=".notice--success"),
         answer(proposal, {"#report-reason": "個人名が書かれています。"}, "form:has(#report-reason) button",
                opening="details:has(#report-reason) summary")),
        (PageState("participation vote receipt", "", ready="#receipt"), voted(2)),
        (PageState("participation vote (over the budget, refused)", "", ready="#refusal"), voted(99)),
        (PageState("participation e-mail (link sent)", "", ready=".notice--success"),
         answer(f"{base}/notifications/", {"#email-address": "a11y@example.jp"}, "#email-give")),
        (PageState("participation e-mail verification (confirmed)", "", ready=".notice--success"),
         lambda page: page.goto(mailed_link(participation_server, r"/notifications/email/verify/[^/\s]+/"))),
        (PageState("participation e-mail verification (a link not valid)", "", ready="#refusal"),
         lambda page: page.goto(f"{base}/notifications/email/verify/not-a-link/")),
    ]  # fmt: skip
    walked = walk_answers(participation_contexts["participation-resident"], journeys, [base], seen)
    assert_clean([walked], len(journeys), seen)
