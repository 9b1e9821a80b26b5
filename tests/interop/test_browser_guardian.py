"""Issue #18 §1's must-show, in a real browser (Playwright on Debian's Chromium): a child under 15 with a card that
has the user-authentication certificate only; the guardian (onboarded with their own card) adds the child — the
child's card proves the card, the guardian's card asks J-LIS, which confirms the relation in the register; the child
sets up a passkey on their own device and logs in with it at the city; the consent screen goes to the guardian, who
approves the city's claims (one optional claim unticked); the child is then logged in at the city. On the 15th
birthday (the clock moved, not waited) J-LIS issues the signature certificate and the watcher re-anchors the
account (activity kept) and narrows the guardian's role; at 18 the guardianship ends.

Real processes: jlis, idp and city (the interop harness), the real card helper (in this process, on a free port the
idp's pages call) over virtual cards; Chromium's virtual WebAuthn authenticator (CDP) for the passkey.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchorid.cardhelper.helper import CardHelperServer
from anchorid.common import config
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport

from .harness import Browser, Parties, run
from .test_authlib_city import city_claims

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class Helper:
    """The resident's card helper; the test puts one card or the other on the reader."""

    def __init__(self, port: int, idp: str) -> None:
        self.card: dict[str, Any] = {}
        self.pin = ""
        self.prompts: list[str] = []

        def pin_source(prompt: str) -> str:
            self.prompts.append(prompt)
            return self.pin

        def open_card() -> JPKICard:
            return JPKICard(EmulatorTransport(self.card["card_file"]))

        self.server = CardHelperServer(port=port, idp_origin=idp, pin_source=pin_source, open_card=open_card)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def insert(self, card: dict[str, Any], pin: str) -> None:
        self.card, self.pin = card, pin


@pytest.fixture(scope="module")
def world(parties: Parties, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Parties, Helper, Path]]:
    """The interop suite's parties (started once per session) and the card helper on the port the idp's pages
    call (the default, as a resident runs it)."""
    helper = Helper(config.CARD_HELPER_PORT.default, parties.idp.url)
    try:
        yield parties, helper, tmp_path_factory.mktemp("guardians")
    finally:
        helper.server.shutdown()
        helper.server.server_close()


def _browser_context(playwright: Any, browser: Any, *, passkeys: bool) -> tuple[Any, Any]:
    context = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = context.new_page()
    if passkeys:
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})  # fmt: skip
    return context, page


def test_it_walks_the_guardian_flow_from_the_childs_card_to_the_15th_and_18th_birthdays(
    world: tuple[Parties, Helper, Path],
) -> None:
    parties, helper, root = world
    idp, city, jlis = parties.idp.url, parties.city.url, parties.jlis
    turns_15 = datetime.date.today() + datetime.timedelta(days=3)
    family = json.loads(run("jlis", "family", "--data", str(jlis.data), "--cards-dir", str(root / "cards"),
                            "--child-turns-15-on", turns_15.isoformat(), "--seed", "18", env=jlis.env))  # fmt: skip
    guardian, child = family["guardian"], family["child"]
    assert child["has_signature_certificate"] is False
    assert len(child["authentication_pin"]) == 4

    scripted = Browser(idp)
    scripted.onboard(guardian)  # the guardian's own full account, with their card
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            parent_context, parent = _browser_context(playwright, browser, passkeys=False)
            parent_context.add_cookies([{"name": c.name, "value": c.value or "", "url": idp}
                                        for c in scripted.http.cookies])  # type: ignore[arg-type]  # fmt: skip

            # 1. The child's card proves the card (authentication key, 4-digit PIN).
            parent.goto(f"{idp}/me/children/")
            parent.click("#add-child")
            helper.insert(child, child["authentication_pin"])
            parent.click("#card-start")
            # 2. The guardian's card asks J-LIS, which finds the relation in the register.
            parent.wait_for_url(f"{idp}/me/children/add/guardian/", timeout=30_000)
            helper.insert(guardian, guardian["signature_pin"])
            parent.click("#consent-start")
            parent.wait_for_url(f"{idp}/me/children/", timeout=30_000)
            assert "4桁" in helper.prompts[0]
            assert "保護者" in helper.prompts[1]
            assert "住民基本台帳" in parent.content() or "resident register" in parent.content()
            parent.click("#setup-link-1")
            setup_url = parent.locator("#setup-link a").get_attribute("href")
            assert setup_url

            # 3. On the child's device: the card once, then a passkey.
            _, kid = _browser_context(playwright, browser, passkeys=True)
            kid.goto(setup_url)
            helper.insert(child, child["authentication_pin"])
            kid.click("#card-start")
            kid.wait_for_url(f"{idp}/passkeys/register/**", timeout=30_000)
            kid.fill("#passkey-name", "こどもの端末")
            kid.click("#register-passkey")
            kid.wait_for_url(f"{idp}/me/", timeout=30_000)
            kid.click("#logout")
            kid.wait_for_url(f"{idp}/login/")

            # 4. The child logs in at the city with the passkey; the consent screen goes to the guardian.
            kid.goto(f"{city}/")
            kid.click("#login-anchorid")
            kid.wait_for_url(f"{idp}/login/?**", timeout=30_000)
            kid.click("#choose-passkey")
            kid.click("#login-passkey")
            kid.wait_for_selector("#guardian-waiting", timeout=30_000)
            assert kid.locator("form.consent").count() == 0

            parent.goto(f"{idp}/me/children/")
            parent.uncheck('form.approval input[value="age_over_65"]')
            parent.click("form.approval button[value=approve]")
            parent.wait_for_url(f"{idp}/me/children/")
            assert parent.locator("form.approval").count() == 0

            kid.goto(f"{city}/")
            kid.click("#login-anchorid")
            kid.wait_for_url(f"{city}/", timeout=30_000)
            assert kid.locator("#logged-in").is_visible()
            assert set(city_claims(kid.content())) == {"sub", "name", "resident_of"}  # age_over_65 unticked

            # 5. The 15th birthday (the clock moved): the counter issues the signature certificate, the watcher
            #    re-anchors the account on it and narrows the guardian's role; the child's passkey still works.
            birthday = f"{turns_15.isoformat()}T10:00:00+09:00"
            run("jlis", "reissue-signature", "--data", str(jlis.data), "--resident", str(child["resident_id"]),
                "--at", birthday, env=jlis.env)  # fmt: skip
            moved = json.loads(run("idp", "guardians", "transitions", "--data", str(parties.idp.data),
                                   "--today", turns_15.isoformat(), env=parties.idp.env))  # fmt: skip
            assert len(moved["reanchored"]) == 1
            parent.goto(f"{idp}/me/children/")
            assert parent.locator("form.approval").count() == 0
            assert parent.locator("#stop-1").count() == 0  # narrowed: no stop, no activity, no approvals
            kid.goto(f"{idp}/me/activity/")
            assert kid.url.startswith(f"{idp}/me/activity/")  # the same account, its history kept

            # The city reads the adoption counts with its own client (k-anonymous: the two new accounts, the
            # guardian's and the child's, are under 10 in their cells and come back suppressed).
            fetched = json.loads(run("city", "adoption", "fetch", "--data", str(parties.city.data),
                                     env=parties.city.env))  # fmt: skip
            assert fetched["cells"] >= 18  # 9 bands x 2 sexes per published week

            # 6. At 18 the guardianship ends.
            eighteen = turns_15.replace(year=turns_15.year + 3)
            ended = json.loads(run("idp", "guardians", "transitions", "--data", str(parties.idp.data),
                                   "--today", eighteen.isoformat(), env=parties.idp.env))  # fmt: skip
            assert ended["ended"] == moved["reanchored"]
            parent.goto(f"{idp}/me/children/")
            assert parent.locator("section.child").count() == 0
        finally:
            browser.close()
