"""Shared by the link / token-exchange tests: three services (a health app, the currency, the city), their link
scopes and offers, a resident logged in at the health app, and the exchange request written against RFC 8693."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from anchorid.idp.accounts.models import Account
from anchorid.idp.links import consents, offers
from anchorid.idp.links.models import LinkConsent, LinkOffer
from anchorid.jpki.attributes import BasicFourInfo, Gender

from .oidc_support import ISSUER, RelyingParty, exchange, get_nonce, logged_in, post_form, register, resident, run_flow
from .production_wsgi import ProductionClient as HttpClient

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
TARO = BasicFourInfo.plain("鎌倉　太郎", datetime.date(1985, 6, 1), Gender.MALE, "神奈川県鎌倉市雪ノ下１丁目")
CREDIT_DETAILS = [{"type": "anchorid_currency_credit", "max_yen_per_month": 500}]


@dataclass
class Services:
    health: RelyingParty
    currency: RelyingParty
    city: RelyingParty
    library: RelyingParty
    health_to_currency: LinkOffer
    city_to_currency: LinkOffer


def services(*, further: bool = False) -> Services:
    health, _ = register("providersim-health", redirect_uri="https://health.example/callback", scopes=["openid"])
    currency, _ = register("currency", redirect_uri="https://currency.example/callback", scopes=["openid"])
    city, _ = register("city", redirect_uri="https://city.example/callback", scopes=["openid"])
    library, _ = register("library", redirect_uri="https://library.example/callback", scopes=["openid"])
    offers.set_scope(
        "currency", "currency:credit", "地域通貨をウォレットに入金する", "Credit local currency to your wallet"
    )
    offers.set_scope("currency", "currency:balance", "地域通貨の残高を見る", "See your local-currency balance")
    offers.set_scope("library", "library:loans", "図書館の貸出と予約を見る", "See your library loans and holds")
    health_to_currency = offers.add_offer(
        offer_id="health-to-currency", source="providersim-health", target="currency", scopes=["currency:credit"],
        purpose_ja="歩いた分の健康ポイントを地域通貨で受け取るため", purpose_en="To receive walking points as currency",
        days=365, authorization_details=CREDIT_DETAILS,
    )  # fmt: skip
    city_to_currency = offers.add_offer(
        offer_id="city-to-currency", source="city", target="currency", scopes=["currency:balance"],
        purpose_ja="ホーム画面に残高を表示するため", purpose_en="To show your balance on your home page", days=365,
        further_exchange=further,
    )  # fmt: skip
    return Services(health, currency, city, library, health_to_currency, city_to_currency)


def another_resident() -> Account:
    return resident("resident-2", TARO)


def access_token(rp: RelyingParty, account: Account) -> str:
    """The resident logs in at ``rp`` (PAR, authorize, code): ``rp``'s DPoP-bound access token for them."""
    flow = run_flow(rp, logged_in(account), scope="openid")
    response = exchange(flow)
    assert response.status_code == 200, response.content
    token: str = response.json()["access_token"]
    return token


def link(account: Account, offer: LinkOffer) -> LinkConsent:
    return consents.grant(account, offer)


def exchange_request(rp: RelyingParty, subject_token: str | None, *, dpop: bool = True, proof_key: Any = None,
                     **params: Any) -> Any:  # fmt: skip
    form: dict[str, Any] = {
        "grant_type": GRANT_TYPE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": "currency",
    }
    form.update(params)
    if isinstance(form.get("authorization_details"), list):
        form["authorization_details"] = json.dumps(form["authorization_details"])
    form = {k: v for k, v in form.items() if v is not None}
    if rp.nonce is None:
        get_nonce(HttpClient(), rp)
    client_form, headers = rp.client_auth()
    if dpop:
        headers["DPoP"] = rp.proof("POST", ISSUER + "/oidc/token", key=proof_key)
    return post_form(HttpClient(), "/oidc/token", {**client_form, **form}, headers)


def introspect(rp: RelyingParty, token: str) -> dict[str, Any]:
    client_form, headers = rp.client_auth()
    response = post_form(HttpClient(), "/oidc/introspect", {**client_form, "token": token}, headers)
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()
    return result


__all__ = ["access_token", "another_resident", "exchange_request", "introspect", "link", "resident", "services"]
