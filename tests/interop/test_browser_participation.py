"""The participation platform's must-show journey in a real browser (Playwright on Debian's Chromium), against real
processes — the interop run's jlis and idp (``localhost``) and the participation platform (``127.0.0.1``: its own
client and pairwise sector), seeded with the demo's processes (one in each phase):

1. an anonymous visitor proposes an idea and comments on it: both are marked anonymous, the script in the title is
   shown as text;
2. a verified resident (card onboarding, then a passkey on Chromium's virtual authenticator) logs in with AnchorID,
   supports the idea, votes in the participatory-budget phase — an over-budget basket is refused — and re-votes
   (a new receipt; one ballot counted);
3. a non-resident AnchorID user (one who does not share a municipality of the city) is refused the resident-only
   vote with a clear message;
4. staff close the vote; the results page shows the tallies split by assurance and the weighted result, and
   ``anchorid participation tally verify`` recounts the published ballots against the platform's published key.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from anchorid.participation.demo import SLUGS, STAFF_PASSWORD, STAFF_USER

from .harness import Browser, Parties, Server, base_env, free_port, register_passkey_and_log_out, run

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
SCRIPT = "<script>alert(1)</script>"


@dataclass
class World:
    """The interop run's jlis and idp (shared with the other interop tests), and the platform started here."""

    parties: Parties
    participation: Server
    cards: list[dict[str, Any]]

    @property
    def idp(self) -> Server:
        return self.parties.idp


@pytest.fixture(scope="module")
def world(parties: Parties, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("participation")
    url = f"http://127.0.0.1:{free_port()}"
    platform = Server("participation", url, root / "participation", dict(base_env(), ANCHORID_PARTICIPATION_ORIGIN=url))
    run("participation", "setup", "--data", str(platform.data), "--idp", parties.idp.url, "--origin", url,
        "--idp-data", str(parties.idp.data), env=parties.idp.env)  # fmt: skip
    platform.start("/healthz")
    try:
        run("participation", "demo", "--data", str(platform.data), env=platform.env)
        yield World(parties, platform, [parties.adult_card(), parties.adult_card()])
    finally:
        platform.stop()


def _login_at_idp_cookies(world: World, card: dict[str, Any]) -> list[dict[str, str]]:
    scripted = Browser(world.idp.url)
    scripted.onboard(card)
    return [{"name": c.name, "value": c.value or "", "url": world.idp.url} for c in scripted.http.cookies]


def test_it_walks_the_participation_journey_in_a_real_browser(world: World) -> None:
    base, idp = world.participation.url, world.idp.url
    ideas, pb = SLUGS["ideas"], SLUGS["vote"]
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            # 1. An anonymous visitor proposes an idea and comments: marked anonymous, the script shown as text.
            anonymous = browser.new_context(viewport=PHONE, locale="ja-JP").new_page()
            anonymous.goto(f"{base}/processes/{ideas}/")
            anonymous.fill("#title", f"駐輪場を増やす {SCRIPT}")
            anonymous.fill("#body", "駅前に駐輪場を。")
            anonymous.click("#propose")
            anonymous.wait_for_url(f"{base}/processes/{ideas}/")
            assert anonymous.locator("#anonymous-marker").is_visible()
            anonymous.click(f"text=駐輪場を増やす {SCRIPT}")
            idea_url = anonymous.url
            assert anonymous.locator("#proposal-title").inner_text() == f"駐輪場を増やす {SCRIPT}"  # text, not a tag
            anonymous.fill("#comment-body", "賛成です")
            anonymous.click("#comment")
            anonymous.wait_for_url(idea_url)
            comment = anonymous.locator(".comment").last
            assert "賛成です" in comment.inner_text()
            assert comment.locator(".assurance--anonymous").count() == 1
            assert anonymous.locator(".comment-meta .assurance--anonymous").first.is_visible()

            # 2. A verified resident: card onboarding, a passkey on this phone, logged out of the idp.
            context = browser.new_context(viewport=PHONE, locale="ja-JP")
            context.add_cookies(_login_at_idp_cookies(world, world.cards[0]))  # type: ignore[arg-type]
            page = context.new_page()
            register_passkey_and_log_out(context, page, idp)
            # ... logs in at the platform with AnchorID (passkey), consents, and supports the anonymous idea.
            page.goto(idea_url)
            page.click("#login-anchorid")
            page.wait_for_url(f"{idp}/login/?**", timeout=30_000)
            page.click("#choose-passkey")
            page.click("#login-passkey")
            page.wait_for_selector("form.consent", timeout=30_000)
            page.click('button[name="decision"][value="allow"]')
            page.wait_for_url(idea_url, timeout=30_000)
            assert page.locator("#logged-in").is_visible()
            page.click("#support")
            page.wait_for_url(idea_url)
            assert "1" in page.locator("#supports").inner_text().split("/")[0]
            # ... votes in the PB phase: all four projects are over the budget; refused with the reason.
            page.goto(f"{base}/processes/{pb}/vote/")
            for box in page.locator('input[name="option"]').all():
                box.check()
            page.click("#cast-vote")
            assert "予算" in page.locator("#refusal").inner_text() or "budget" in page.locator("#refusal").inner_text()
            page.goto(f"{base}/processes/{pb}/vote/")
            boxes = page.locator('input[name="option"]').all()
            boxes[0].check()
            boxes[1].check()
            page.click("#cast-vote")
            first_receipt = page.locator("#receipt").inner_text()
            # ... and re-votes: a new receipt; the earlier ballot is replaced.
            page.goto(f"{base}/processes/{pb}/vote/")
            assert page.locator("#already-voted").is_visible()
            boxes = page.locator('input[name="option"]').all()
            boxes[2].check()
            boxes[3].check()
            page.click("#cast-vote")
            second_receipt = page.locator("#receipt").inner_text()
            assert len(second_receipt) == 32
            assert second_receipt != first_receipt

            # 3. A non-resident AnchorID user (declines to share a municipality of the city): refused, clearly.
            outsider = browser.new_context(viewport=PHONE, locale="ja-JP")
            outsider.add_cookies(_login_at_idp_cookies(world, world.cards[1]))  # type: ignore[arg-type]
            other = outsider.new_page()
            other.goto(f"{base}/processes/{pb}/")
            other.click("#login-anchorid")
            other.wait_for_selector("form.consent", timeout=30_000)
            other.uncheck('input[name="claim"][value="resident_of"]')
            other.click('button[name="decision"][value="allow"]')
            other.wait_for_url(f"{base}/processes/{pb}/", timeout=30_000)
            other.goto(f"{base}/processes/{pb}/vote/")
            refusal = other.locator("#refusal").inner_text()
            assert "本人確認済みの市民" in refusal or "verified residents" in refusal

            # 4. Staff close the vote; the results are split by assurance and weighted.
            staff = browser.new_context(viewport=PHONE, locale="ja-JP").new_page()
            staff.goto(f"{base}/admin/login/?next=/staff/{pb}/")
            staff.fill("#id_username", STAFF_USER)
            staff.fill("#id_password", STAFF_PASSWORD)
            staff.click('input[type="submit"]')
            staff.wait_for_url(f"{base}/staff/{pb}/")
            staff.select_option("#phase", "results")
            staff.click("text=フェーズを切り替える" if staff.locator("text=フェーズを切り替える").count() else
                        "form:has(#phase) button")  # fmt: skip
            staff.wait_for_url(f"{base}/staff/{pb}/")
            page.goto(f"{base}/processes/{pb}/results/")
            counts = page.locator("#ballot-counts").inner_text()
            assert counts.startswith("5")  # four seeded residents and this one; the outsider was refused
            assert page.locator("#results-table td.weighted").count() == 4
            rows = page.locator("#results-table tbody tr")
            assert rows.count() == 4
            page.goto(f"{base}/processes/{SLUGS['results']}/results/")
            split = page.locator("#results-table tbody tr").first.locator("td")
            assert [split.nth(i).inner_text() for i in (1, 2, 3)] != ["0", "0", "0"]
        finally:
            browser.close()

    ballots = requests.get(f"{base}/processes/{pb}/ballots.json", timeout=10).json()
    assert second_receipt in {b["ballot"] for b in ballots["ballots"]}  # counted as cast
    assert first_receipt not in {b["ballot"] for b in ballots["ballots"]}  # replaced
    verify = subprocess.run([sys.executable, "-m", "anchorid.cli", "participation", "tally", "verify",
                             f"{base}/processes/{pb}/ballots.json", "--key", f"{base}/tally-keys.json"],
                            capture_output=True, text=True, env=world.participation.env, check=False)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
