"""The resident's side of links: the consent screen reached from either service, the 連携 page with its log of
exchanges, withdrawal, and the signed consent receipt."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from joserfc import jws
from joserfc.jwk import KeySet

from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.links.models import LinkConsent
from anchorid.idp.oidc import jwks
from anchorid.idp.oidc.pairwise import pairwise_subject

from .links_support import access_token, another_resident, exchange_request, introspect, link, services
from .oidc_support import logged_in, provider, query, resident
from .production_wsgi import ProductionClient as HttpClient

__all__ = ["provider"]
HEALTH_BACK = "https://health.example/callback"


def consent_url(offer: str = "health-to-currency", return_to: str = HEALTH_BACK, **extra: str) -> str:
    return "/links/consent/?" + urlencode({"offer": offer, "return_to": return_to, **extra})


def text(html: bytes) -> str:
    return re.sub(r"<[^>]+>", " ", html.decode())


def test_it_asks_the_resident_and_returns_to_the_service_with_the_answer(provider: None) -> None:
    s = services()
    hanako = resident()
    browser = logged_in(hanako)
    page = browser.get(consent_url(state="xyz"))
    assert page.status_code == 200
    shown = text(page.content)
    for words in ("鎌倉市ポータル", "地域通貨をウォレットに入金する", "500円", "歩いた分の健康ポイント"):
        assert words in shown, words
    assert "currency:credit" not in page.content.decode()  # residents never see scope strings
    assert "anchorid_currency_credit" not in page.content.decode()
    assert "https://health.example" in page["Content-Security-Policy"]  # the form may end there
    answer = browser.post("/links/consent/", {"offer": "health-to-currency", "return_to": HEALTH_BACK,
                                              "state": "xyz", "decision": "approve"})  # fmt: skip
    assert answer.status_code == 302
    assert answer["Location"].startswith(HEALTH_BACK + "?")
    assert query(answer["Location"]) == {"link": "approved", "offer": "health-to-currency", "state": "xyz"}
    consent = LinkConsent.objects.get()
    assert (consent.account_id, consent.scopes) == (hanako.pk, ["currency:credit"])
    assert AuditEntry.objects.get(event_type="link_granted").details["scopes"] == ["currency:credit"]
    again = browser.get(consent_url())  # already linked: nothing asked again
    assert "link=approved" in again.content.decode()
    assert exchange_request(s.health, access_token(s.health, hanako)).status_code == 200


def test_it_can_be_reached_from_the_target_and_declined(provider: None) -> None:
    services()
    browser = logged_in(resident())
    back = "https://currency.example/callback"
    assert browser.get(consent_url(return_to=back)).status_code == 200
    answer = browser.post("/links/consent/", {"offer": "health-to-currency", "return_to": back, "decision": "deny"})
    assert query(answer["Location"]) == {"link": "denied", "offer": "health-to-currency"}
    assert not LinkConsent.objects.exists()


def test_it_refuses_unknown_offers_and_unregistered_return_addresses(provider: None) -> None:
    services()
    browser = logged_in(resident())
    assert browser.get(consent_url(offer="no-such-offer")).status_code == 404
    refused = browser.get(consent_url(return_to="https://evil.example/steal"))
    assert refused.status_code == 400
    assert "evil.example" not in refused.get("Location", "")
    posted = browser.post("/links/consent/", {"offer": "health-to-currency", "return_to": "https://evil.example/",
                                              "decision": "approve"})  # fmt: skip
    assert posted.status_code == 400
    assert browser.get(consent_url(state="bad state\n")).status_code == 400
    assert not LinkConsent.objects.exists()


def test_it_sends_a_resident_who_is_not_logged_in_to_log_in_first(provider: None) -> None:
    services()
    response = HttpClient().get(consent_url())
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "next=" in response["Location"]


def test_it_lists_links_with_their_use_and_withdraws_them_at_once(provider: None) -> None:
    s = services()
    hanako = resident()
    consent = link(hanako, s.health_to_currency)
    exchanged = exchange_request(s.health, access_token(s.health, hanako)).json()["access_token"]
    browser = logged_in(hanako)
    page = browser.get("/me/links/")
    shown = text(page.content)
    assert "地域通貨をウォレットに入金する" in shown
    assert "500円" in shown
    assert "currency:credit" not in page.content.decode()
    assert shown.count("地域通貨をウォレットに入金する") >= 2  # the grant and its one use in the log
    english = browser.get("/me/links/", headers={"Accept-Language": "en"})
    assert "Credit local currency to your wallet" in text(english.content)
    # another resident cannot withdraw it
    assert logged_in(another_resident()).post(f"/me/links/{consent.id}/withdraw/").status_code == 302
    assert LinkConsent.objects.get().withdrawn_at is None
    response = browser.post(f"/me/links/{consent.id}/withdraw/")
    assert response.status_code == 302
    assert LinkConsent.objects.get().withdrawn_at is not None
    assert introspect(s.currency, exchanged) == {"active": False}
    assert exchange_request(s.health, access_token(s.health, hanako)).json()["error"] == "invalid_grant"
    after = text(browser.get("/me/links/").content)
    assert "連携を取り消しました" in after
    assert "取り消し済み" in after


def test_it_gives_a_signed_consent_receipt_naming_the_resident_pairwise(provider: None) -> None:
    s = services()
    hanako = resident()
    consent = link(hanako, s.health_to_currency)
    browser = logged_in(hanako)
    response = browser.get(f"/me/links/{consent.id}/receipt/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwt"
    token = response.content.decode()
    verified = jws.deserialize_compact(token, KeySet.import_key_set(jwks.jwks_document()))
    receipt = json.loads(verified.payload)
    assert verified.protected["typ"] == "consent-receipt+jwt"
    kantara = ("version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "piiPrincipalId",
               "piiControllers", "policyUrl", "services", "sensitive", "spiCat", "language")  # fmt: skip
    for name in kantara:
        assert name in receipt, name
    assert receipt["piiPrincipalId"] == pairwise_subject("health.example", hanako.pk)
    assert str(hanako.pk) not in token
    assert str(hanako.pk) not in json.dumps(receipt)
    assert receipt["services"][0]["purposes"][0]["purpose"] == "歩いた分の健康ポイントを地域通貨で受け取るため"
    assert logged_in(another_resident()).get(f"/me/links/{consent.id}/receipt/").status_code == 404


def test_it_does_not_let_a_child_under_a_guardian_link_services(provider: None) -> None:
    from anchorid.idp.guardians.models import Guardianship

    services()
    child, parent = resident(), another_resident()
    Guardianship.objects.create(child=child, guardian=parent, confirmed_by=Guardianship.ConfirmedBy.COUNTER)
    browser = logged_in(child)
    assert browser.get(consent_url()).status_code == 403
    posted = browser.post("/links/consent/", {"offer": "health-to-currency", "return_to": HEALTH_BACK,
                                              "decision": "approve"})  # fmt: skip
    assert posted.status_code == 403
    assert not LinkConsent.objects.exists()
