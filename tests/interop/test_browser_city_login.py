"""The must-show, in a real browser (Playwright on Debian's Chromium): at the city, "log in with AnchorID" → the
idp's passkey login → the consent screen, one optional claim unticked → back at the city, which holds exactly the
claims chosen.

The parties are the interop fixture's real processes (jlis, idp on ``localhost``, city on ``127.0.0.1``). The
resident onboards with their card first (the scripted browser, whose idp session the real browser takes over), then
registers a passkey on Chromium's virtual WebAuthn authenticator (CDP ``WebAuthn``: internal transport, resident
keys, user verification) and logs out, so the login that follows is by passkey alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .harness import Browser, Parties, register_passkey_and_log_out
from .test_authlib_city import city_claims

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "city-home.png"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


def test_it_logs_in_at_the_city_with_a_passkey_and_one_optional_claim_unticked(parties: Parties) -> None:
    scripted = Browser(parties.idp.url)
    scripted.onboard(parties.adult_card())
    idp, city = parties.idp.url, parties.city.url
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            context = browser.new_context(viewport=PHONE, locale="ja-JP")
            session = [{"name": c.name, "value": c.value or "", "url": idp} for c in scripted.http.cookies]
            context.add_cookies(session)  # type: ignore[arg-type]
            page = context.new_page()
            # The onboarded resident registers a passkey on this "phone", then logs out of the idp.
            register_passkey_and_log_out(context, page, idp)

            # At the city: log in with AnchorID.
            page.goto(f"{city}/")
            page.click("#login-anchorid")
            page.wait_for_url(f"{idp}/login/?**", timeout=30_000)
            page.click("#choose-passkey")
            page.click("#login-passkey")

            # The consent screen: the city's essential claims are fixed; untick the optional one (65 or older).
            page.wait_for_selector("form.consent", timeout=30_000)
            assert page.locator('input[name="claim"][value="age_over_65"]').is_checked()
            page.uncheck('input[name="claim"][value="age_over_65"]')
            page.click('button[name="decision"][value="allow"]')

            page.wait_for_url(f"{city}/", timeout=30_000)
            assert page.locator("#logged-in").is_visible()
            claims = city_claims(page.content())
            assert set(claims) == {"sub", "name", "resident_of"}
            assert claims["resident_of"] == "142042"
            if os.environ.get("ANCHORID_UPDATE_SCREENSHOTS") == "1":  # refresh the docs screenshot on request only
                page.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)
        finally:
            browser.close()
