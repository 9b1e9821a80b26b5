"""The local currency's journey in a real browser (Playwright on Debian's Chromium, a phone-sized window): a
resident signs up with AnchorID (passkey login, consent to ``resident_of``), charges (with the residents' premium),
registers a shop that the issuer's staff approves, pays it by its static QR, then by a one-time payment QR that the
shop's terminal reads, confirmed with a passkey step-up (the amount is above the threshold); the terminal shows the
payments live; a refund returns to the wallet; the resident claims the open benefit once, and a second attempt in
another browser gets the existing payment.

The terminal reads the payment QR with the device camera through the vendored jsQR: Chromium's fake capture device
plays a video made from the QR the resident's page shows. A visitor (a card of a Fujisawa resident) signs up too, as
a visitor, and cannot claim the resident benefit.

The currency runs as its own process (``anchorid serve currency``) beside the interop fixture's jlis and idp."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import segno

from .harness import Browser, Parties, Server

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
STAFF = ("issuer", "issuer-demo")
#: A claim form posted by hand (the page no longer offers the button).
CLAIM_AGAIN = """(url) => { const f = document.createElement('form'); f.method = 'post'; f.action = url;
  const t = document.createElement('input'); t.type = 'hidden'; t.name = 'csrfmiddlewaretoken';
  t.value = document.querySelector('input[name=csrfmiddlewaretoken]').value; f.appendChild(t);
  document.body.appendChild(f); f.submit(); }"""

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


def camera_video(payload: str, path: Path, width: int = 640, height: int = 480) -> None:
    """A YUV4MPEG2 video (what Chromium's fake capture device plays) of the QR code of ``payload``, dark on light,
    as a phone held up to the terminal's camera would show it."""
    matrix = [list(row) for row in segno.make(payload, error="m").matrix_iter(scale=8, border=4)]
    left, top = (width - len(matrix)) // 2, (height - len(matrix)) // 2
    luma = bytearray([235]) * (width * height)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                luma[(top + y) * width + left + x] = 16
    chroma = bytes([128]) * (width // 2 * height // 2)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + (b"FRAME\n" + bytes(luma) + chroma + chroma) * 2)


def _launch(playwright: object, camera: Path) -> object:
    camera_video("KMC1:nothing-yet", camera)  # replaced by the real code before the terminal opens the camera
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"],
    )  # fmt: skip


def _balance(page: object) -> int:
    text = page.locator("#balance").inner_text()  # type: ignore[attr-defined]
    return int(text.replace(",", ""))


def _passkey_login(page: object, idp: str) -> None:
    page.wait_for_url(f"{idp}/login/?**", timeout=30_000)  # type: ignore[attr-defined]
    page.click("#choose-passkey")  # type: ignore[attr-defined]
    page.click("#login-passkey")  # type: ignore[attr-defined]


def test_it_walks_the_residents_and_merchants_journey(parties: Parties, currency: Server, tmp_path: Path) -> None:
    scripted = Browser(parties.idp.url)
    scripted.onboard(parties.adult_card())
    idp, shop_url = parties.idp.url, currency.url
    camera = tmp_path / "camera.y4m"
    with playwright_sync.sync_playwright() as playwright:
        browser: Any = _launch(playwright, camera)
        try:
            context = browser.new_context(viewport=PHONE, locale="ja-JP")
            context.add_cookies([{"name": c.name, "value": c.value or "", "url": idp} for c in scripted.http.cookies])  # type: ignore[list-item]
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("WebAuthn.enable")
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
                "isUserVerified": True, "automaticPresenceSimulation": True}})  # fmt: skip
            page.goto(f"{idp}/passkeys/register/")
            page.fill("#passkey-name", "テスト端末")
            page.click("#register-passkey")
            page.wait_for_url(f"{idp}/me/", timeout=30_000)
            page.click("#logout")
            page.wait_for_url(f"{idp}/login/")

            # Sign up with AnchorID: passkey login, then the consent screen (resident_of; 65+ optional).
            page.goto(f"{shop_url}/")
            page.click("#login-anchorid")
            _passkey_login(page, idp)
            page.wait_for_selector("form.consent", timeout=30_000)
            page.click('button[name="decision"][value="allow"]')
            page.wait_for_url(f"{shop_url}/", timeout=30_000)
            assert page.locator("#tier").get_attribute("data-tier") == "resident"

            # Charge 10,000 yen: the residents' campaign adds 10 %.
            page.fill("#charge-amount", "10000")
            page.click("#charge")
            page.wait_for_selector("#balance")
            assert _balance(page) == 11_000

            # Register a shop; the issuer's staff approves it in their own browser.
            page.click("#register-shop")
            page.fill("#shop-name", "テスト商店")
            page.click("#register")
            page.wait_for_selector("#merchant-status")
            merchant_path = re.sub(r"^https?://[^/]+", "", page.url)
            staff_context = browser.new_context(viewport=PHONE, locale="ja-JP")
            staff = staff_context.new_page()
            staff.goto(f"{shop_url}/admin/login/?next=/issuer/")
            staff.fill("#id_username", STAFF[0])
            staff.fill("#id_password", STAFF[1])
            staff.click("input[type=submit]")
            staff.wait_for_url(f"{shop_url}/issuer/")
            staff.click("#waiting .approve")
            staff.wait_for_url(f"{shop_url}/issuer/")
            page.goto(f"{shop_url}{merchant_path}")
            assert page.locator("#static-qr svg").count() == 1

            # Pay by the shop's static QR (the page it opens) and an amount: below the step-up, no passkey.
            pay_url = page.locator("#pay-url").get_attribute("href")
            assert pay_url
            page.goto(pay_url)
            page.fill("#pay-amount", "1200")
            page.click("#pay")
            page.wait_for_url(f"{shop_url}/")
            assert _balance(page) == 9_800

            # The shop's terminal, open in another tab, shows payments live.
            terminal = context.new_page()
            terminal.goto(f"{shop_url}{merchant_path}terminal/")
            terminal.wait_for_selector('#terminal-payments tr[data-state="captured"]')

            # A one-time payment QR read by the terminal's camera (jsQR), 6,000 yen: above the step-up, confirmed
            # with the passkey.
            page.click("#show-code")
            payload = page.locator("#code-payload").inner_text()
            camera_video(payload, camera)  # the customer's phone, held up to the terminal's camera
            terminal.fill("#terminal-amount", "6000")
            terminal.click("#terminal-camera")
            playwright_sync.expect(terminal.locator("#terminal-code")).to_have_value(payload, timeout=20_000)
            terminal.click("#terminal-submit")
            terminal.wait_for_selector('#terminal-payments tr[data-state="authorised"]')
            page.wait_for_selector("#confirm-payment", state="visible", timeout=15_000)
            assert page.locator("#code-amount").inner_text() == "6,000"
            page.click("#confirm-payment")
            _passkey_login(page, idp)  # the step-up: a fresh passkey login at AnchorID
            page.wait_for_url(f"{shop_url}/", timeout=30_000)
            assert _balance(page) == 3_800
            # (a locator, not wait_for_function: the page's CSP refuses script built from a string)
            terminal.locator('#terminal-payments tr[data-state="captured"]').nth(1).wait_for(timeout=15_000)

            # A refund of 500 yen from the shop's page returns to the wallet.
            terminal.goto(f"{shop_url}{merchant_path}")
            terminal.fill("#payments input[name=amount] >> nth=0", "500")
            terminal.click("#payments .refund >> nth=0")
            terminal.wait_for_selector(".notice--success")
            page.goto(f"{shop_url}/")
            assert _balance(page) == 4_300

            # The open benefit: claimed once; a second attempt in another browser gets the existing payment.
            page.click(".programme .claim")
            page.wait_for_selector(".notice--success")
            assert _balance(page) == 7_300
            other = browser.new_context(viewport=PHONE, locale="ja-JP")
            other.add_cookies([c for c in context.cookies() if c.get("domain") == "localhost"])  # type: ignore[misc]
            second = other.new_page()  # another browser: the same person's AnchorID session, a new login here
            second.goto(f"{shop_url}/")
            second.click("#login-anchorid")
            second.wait_for_url(f"{shop_url}/", timeout=30_000)
            assert second.locator(".programme .claim").count() == 0  # the page knows it was received...
            second.evaluate(CLAIM_AGAIN, "/benefits/1/claim/")  # ...and a claim posted anyway gets the first one
            second.wait_for_selector(".notice--info")
            assert _balance(second) == 7_300
        finally:
            browser.close()


def test_it_refuses_the_resident_benefit_to_a_visitor(parties: Parties, currency: Server, tmp_path: Path) -> None:
    """A Fujisawa resident signs up (consenting to ``resident_of``): a visitor's wallet, no campaign premium, and
    the Kamakura residents' benefit refused in words, with nothing paid."""
    scripted = Browser(parties.idp.url)
    scripted.onboard(parties.other_municipality_card(tmp_path / "visitor"))
    idp, shop_url = parties.idp.url, currency.url
    with playwright_sync.sync_playwright() as playwright:
        browser: Any = _launch(playwright, tmp_path / "camera.y4m")
        try:
            context = browser.new_context(viewport=PHONE, locale="ja-JP")
            context.add_cookies([{"name": c.name, "value": c.value or "", "url": idp} for c in scripted.http.cookies])  # type: ignore[list-item]
            page = context.new_page()
            page.goto(f"{shop_url}/")
            page.click("#login-anchorid")
            page.wait_for_selector("form.consent", timeout=30_000)
            page.click('button[name="decision"][value="allow"]')
            page.wait_for_url(f"{shop_url}/", timeout=30_000)
            assert page.locator("#tier").get_attribute("data-tier") == "visitor"
            page.fill("#charge-amount", "1000")
            page.click("#charge")
            page.wait_for_selector(".notice--success")
            assert _balance(page) == 1_000  # the residents' premium is for residents
            page.click(".programme .claim")
            page.wait_for_selector(".notice--error")
            assert page.locator(".notice--error").inner_text() == "この給付の対象ではないため、受け取れません。"
            assert _balance(page) == 1_000
        finally:
            browser.close()
