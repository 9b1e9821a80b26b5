"""Registering link scopes and offers (``anchorid idp links``): every rule refuses with a clear message, and an
offer that is disabled or a consent that expired stops exchanges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from anchorid.idp.links import offers
from anchorid.idp.links.models import LinkConsent, LinkOffer

from .links_support import access_token, exchange_request, link, services
from .oidc_support import provider, register, resident

__all__ = ["provider"]


def _refused(message: str, **overrides: object) -> None:
    arguments: dict[str, object] = {
        "offer_id": "city-to-library", "source": "city", "target": "library", "scopes": ["library:loans"],
        "purpose_ja": "目的", "purpose_en": "purpose", "days": 30,
    }  # fmt: skip
    arguments.update(overrides)
    with pytest.raises(offers.OfferError, match=message):
        offers.add_offer(**arguments)  # type: ignore[arg-type]


def test_it_refuses_offers_that_break_a_rule(provider: None) -> None:
    services()
    register("simple-site", redirect_uri="https://simple.example/cb", scopes=["openid"], profile="simple",
             auth_method="client_secret_basic")  # fmt: skip
    _refused("lowercase", offer_id="City To Library")
    _refused("different", target="city")
    _refused("no active client", target="no-such-client")
    _refused("private_key_jwt", source="simple-site")
    _refused("not link scopes of library: library:everything", scopes=["library:everything"])
    _refused("at least one scope", scopes=[])
    _refused("purposes", purpose_en=" ")
    _refused("days", days=0)
    _refused("type", authorization_details=[{"max_yen_per_month": 1}])
    _refused("already registered", offer_id="health-to-currency", source="providersim-health", target="currency",
             scopes=["currency:credit"])  # fmt: skip
    with pytest.raises(offers.OfferError, match="scope name"):
        offers.set_scope("library", "Library Loans", "ラベル", "label")
    with pytest.raises(offers.OfferError, match="labels"):
        offers.set_scope("library", "library:holds", "", "label")
    assert LinkOffer.objects.count() == 2


def test_it_stops_exchanges_under_a_disabled_offer_or_an_expired_consent(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    assert offers.disable_offer("health-to-currency")
    assert exchange_request(s.health, token).json()["error"] == "unauthorized_client"  # no active offer left
    LinkOffer.objects.update(active=True)
    LinkConsent.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert exchange_request(s.health, token).json()["error"] == "invalid_grant"
