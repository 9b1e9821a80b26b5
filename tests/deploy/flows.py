"""What a resident and a relying party do against the deployment, split into steps so a test can move between
instances (and kill one) between them. Everything goes over HTTPS through HAProxy."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urljoin

from anchorid.cardhelper.helper import sign_challenge
from anchorid.common.rp.client import AnchorIDClient, ClientConfig, DPoPOAuth2Session
from anchorid.deploy.haproxy import PIN_HEADER
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport
from interop.harness import form_data, forms

from .deployment import PinnedBrowser

BOOKING_REFERENCE = re.compile(r"/booking/bookings/([^/]+)/$")


def csrf_field(html: str, action: str) -> str:
    form = next(form for form in forms(html) if form["action"] == action)
    return str(next(item["value"] for item in form["fields"] if item.get("name") == "csrfmiddlewaretoken"))


def start_city_login(browser: PinnedBrowser, city: str) -> str:
    """Press "log in with AnchorID" at the city: the city pushes the request to the idp (PAR) and keeps the pending
    login in the resident's session; returns the idp's authorization URL the browser is sent to."""
    home = browser.http.get(f"{city}/", timeout=30)
    pushed = browser.http.post(f"{city}/login/", data={"csrfmiddlewaretoken": csrf_field(home.text, "/login/")},
                               headers={"Origin": city, "Referer": f"{city}/"}, allow_redirects=False,
                               timeout=30)  # fmt: skip
    assert pushed.status_code == 302, pushed.text[:500]
    return str(pushed.headers["Location"])


def finish_city_login(browser: PinnedBrowser, city: str, authorize_url: str) -> str:
    """Consent at the idp, come back to the city's callback; the city's page after it (logged in)."""
    callback = browser.authorize(authorize_url, f"{city}/callback/")
    home = browser.http.get(callback, timeout=60)
    assert 'id="logged-in"' in home.text, home.text[:1000]
    return home.text


def open_onboarding(browser: PinnedBrowser, idp: str, card: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The onboarding page's challenge, signed by the virtual card: (the completion URL, what the page posts)."""
    page = browser.http.get(f"{idp}/onboarding/", timeout=30)
    page.raise_for_status()
    challenge = _attribute(page.text, "data-challenge")
    complete_url = urljoin(idp, _attribute(page.text, "data-complete-url"))
    signed = sign_challenge(lambda: JPKICard(EmulatorTransport(card["card_file"])),
                            lambda prompt: card["signature_pin"], challenge, idp)  # fmt: skip
    return complete_url, {"challenge": challenge, **signed.as_json()}


def post_onboarding(browser: PinnedBrowser, idp: str, complete_url: str, answer: dict[str, Any]) -> Any:
    headers = {"X-CSRFToken": browser.http.cookies.get("csrftoken", ""), "Origin": idp}
    return browser.http.post(complete_url, json=answer, headers=headers, timeout=60)


def share_with_departments(browser: PinnedBrowser, city: str) -> None:
    """The city's departments' own AnchorID login (consenting to the address): they become a receiver of this
    resident's Shared Signals events."""
    base = f"{city}/departments"
    page = browser.http.get(f"{base}/", timeout=30)
    token = csrf_field(page.text, "/departments/connect/")
    pushed = browser.http.post(f"{base}/connect/", data={"csrfmiddlewaretoken": token}, allow_redirects=False,
                               headers={"Origin": city, "Referer": f"{base}/"}, timeout=30)  # fmt: skip
    assert pushed.status_code == 302, pushed.text[:500]
    callback = browser.authorize(pushed.headers["Location"], f"{base}/callback/")
    records = browser.http.get(callback, timeout=60)
    assert 'id="department-records"' in records.text, records.text[:1000]


def logout_at_idp(browser: PinnedBrowser, idp: str) -> None:
    """The resident logs out at the idp itself (confirming): the idp queues session-revoked events."""
    confirm = browser.http.get(f"{idp}/oidc/logout", timeout=30)
    form = next(form for form in forms(confirm.text) if "logout" in form["action"])
    done = browser.http.post(urljoin(idp, form["action"]), data=form_data(form, button=("decision", "logout")),
                             headers={"Origin": idp}, allow_redirects=False, timeout=30)  # fmt: skip
    assert done.status_code in (200, 302), done.text[:500]
    assert browser.logged_out_at_idp()


def book_a_slot(browser: PinnedBrowser, city: str, skip: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """Book the first free slot (not one in ``skip``) of the first facility that offers one; the booking's
    reference."""
    listing = browser.http.get(f"{city}/booking/", timeout=30)
    for facility in dict.fromkeys(re.findall(r"/booking/facilities/(\d+)/", listing.text)):
        page = browser.http.get(f"{city}/booking/facilities/{facility}/", timeout=30)
        for form in forms(page.text):
            if form["action"] != "/booking/book/":
                continue
            values = {item.get("name"): item.get("value", "") for item in form["fields"] if item.get("name")}
            if values.get("slot") in skip:
                continue
            booked = browser.http.post(f"{city}/booking/book/", data=values, allow_redirects=False, timeout=30,
                                       headers={"Origin": city, "Referer": page.url})  # fmt: skip
            if booked.status_code == 302 and (found := BOOKING_REFERENCE.search(booked.headers["Location"])):
                return found.group(1)
    raise AssertionError("no slot could be booked")


class PinnedClient(AnchorIDClient):
    """The city's relying-party client, in the test process, talking to one idp instance."""

    def __init__(self, config: ClientConfig, instance: str) -> None:
        super().__init__(config)
        self.http.headers[PIN_HEADER] = instance

    def oauth_session(self, token: dict[str, Any] | None = None) -> DPoPOAuth2Session:
        session = super().oauth_session(token)
        session.headers[PIN_HEADER] = self.http.headers[PIN_HEADER]
        return session


def wait_for(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
    return value


def _attribute(html: str, name: str) -> str:
    from html import unescape

    marker = f'{name}="'
    start = html.index(marker) + len(marker)
    return unescape(html[start : html.index('"', start)])
