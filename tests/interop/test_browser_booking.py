"""The booking must-show, in a real browser (Playwright on Debian's Chromium) against the interop fixture's real
jlis, idp and city processes, the city seeded with the demo's facilities:

- a resident logs in at the city through AnchorID with a passkey, books a slot, pays with the simulated payment
  provider (its own page, signed callback), sees the receipt and the confirmed booking on the home page;
- a second resident, logged in through AnchorID in another browser, had the same slot's page open with its
  "book" button: pressing it after the first resident booked gets "already taken" (HTTP 409), and the slot shows
  as taken.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .harness import Browser, Parties, Server

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
FACILITY = "由比ガ浜公民館 ホール"  # a hall of the demo seed that is not held for the lottery
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "city-booking.png"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


def seed_facilities(city: Server) -> None:
    env = dict(city.env, DJANGO_SETTINGS_MODULE="anchorid.city.settings", ANCHORID_DATA_DIR=str(city.data))
    subprocess.run([sys.executable, "-m", "django", "seed_facilities"], env=env, check=True, capture_output=True)


def takeover(browser: Any, scripted: Browser, idp: str) -> Any:
    """A phone-sized context holding the idp session the scripted browser opened by card onboarding."""
    context = browser.new_context(viewport=PHONE, locale="ja-JP")
    context.add_cookies([{"name": c.name, "value": c.value or "", "url": idp} for c in scripted.http.cookies])
    return context


def consent(page: Any, city: str) -> None:
    page.wait_for_selector("form.consent", timeout=30_000)
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(f"{city}/", timeout=30_000)
    assert page.locator("#logged-in").is_visible()


def test_it_books_and_pays_through_anchorid_and_refuses_the_slot_to_a_second_resident(parties: Parties) -> None:
    seed_facilities(parties.city)
    idp, city = parties.idp.url, parties.city.url
    first_resident, second_resident = Browser(idp), Browser(idp)
    first_resident.onboard(parties.adult_card())
    second_resident.onboard(parties.adult_card())
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            first = takeover(browser, first_resident, idp).new_page()
            cdp = first.context.new_cdp_session(first)
            cdp.send("WebAuthn.enable")
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
                "isUserVerified": True, "automaticPresenceSimulation": True}})  # fmt: skip
            first.goto(f"{idp}/passkeys/register/")
            first.fill("#passkey-name", "予約テスト端末")
            first.click("#register-passkey")
            first.wait_for_url(f"{idp}/me/", timeout=30_000)
            first.click("#logout")
            first.wait_for_url(f"{idp}/login/")

            # The first resident logs in at the city through AnchorID with the passkey.
            first.goto(f"{city}/")
            first.click("#login-anchorid")
            first.wait_for_url(f"{idp}/login/?**", timeout=30_000)
            first.click("#choose-passkey")
            first.click("#login-passkey")
            consent(first, city)
            assert first.locator('[data-eligibility="resident_booking"]').is_visible()

            # The second resident (idp session from card onboarding) logs in too, in another browser.
            second = takeover(browser, second_resident, idp).new_page()
            second.goto(f"{city}/")
            second.click("#login-anchorid")
            consent(second, city)

            # Both open the same facility's week; the first free slot is the one they both want.
            first.click("#book-facility")
            first.click(f"text={FACILITY}")
            facility_url = first.url
            row = first.locator('td[data-state="free"]').first
            slot = row.get_attribute("data-slot")
            second.goto(facility_url)
            assert second.locator(f'td[data-slot="{slot}"]').get_attribute("data-state") == "free"

            # The first resident books it and pays with the simulated provider.
            row.locator("button").click()
            first.wait_for_selector('#status[data-status="tentative"]')
            first.click("#pay")
            first.wait_for_selector("#simulated-pay")
            first.click("#simulated-pay")
            first.wait_for_selector('#status[data-status="confirmed"]', timeout=30_000)
            first.click("#receipt-link")
            assert first.locator("#receipt").is_visible()
            assert first.locator(".receipt-number").inner_text().startswith("R")

            # The home page shows the confirmed booking.
            first.goto(f"{city}/")
            mine = first.locator('#my-bookings li[data-status="confirmed"]')
            assert mine.count() == 1
            if os.environ.get("ANCHORID_UPDATE_SCREENSHOTS") == "1":
                first.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)

            # The second resident presses "book" on the page still open: already taken.
            with second.expect_response(lambda response: response.url.endswith("/booking/book/")) as answer:
                second.locator(f'td[data-slot="{slot}"] button').click()
            assert answer.value.status == 409
            error = second.locator("#booking-error")
            assert error.get_attribute("data-code") == "slot_taken"
            assert "既に予約されています" in error.inner_text()
            second.goto(facility_url)
            assert second.locator(f'td[data-slot="{slot}"]').get_attribute("data-state") == "taken"
            second.goto(f"{city}/")
            assert second.locator("#my-bookings li").count() == 0
        finally:
            browser.close()
