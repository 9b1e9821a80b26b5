"""Registering link scopes and offers (the operator's side; ``anchorid idp links``)."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from anchorid.idp.links import details
from anchorid.idp.links.models import LinkOffer, LinkScope
from anchorid.idp.oidc.models import Client

OFFER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SCOPE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
MAX_DAYS = 3 * 366


class OfferError(ValueError):
    """A link scope or offer breaks a rule; the message says which."""


def _client(client_id: str, role: str) -> Client:
    client = Client.objects.filter(client_id=client_id, active=True).first()
    if client is None:
        raise OfferError(f"no active client {client_id!r} ({role})")
    if client.auth_method != Client.AuthMethod.PRIVATE_KEY_JWT:
        raise OfferError(f"the {role} {client_id!r} must authenticate with private_key_jwt")
    return client


def set_scope(client_id: str, name: str, label_ja: str, label_en: str) -> LinkScope:
    """Register (or relabel) a link scope of ``client_id``."""
    if not SCOPE_NAME.fullmatch(name):
        raise OfferError("a scope name is lowercase letters, digits and ._:- (at most 64)")
    if not label_ja.strip() or not label_en.strip() or len(label_ja) > 200 or len(label_en) > 200:
        raise OfferError("both labels are required (at most 200 characters)")
    client = _client(client_id, "target")
    scope, _ = LinkScope.objects.update_or_create(
        client=client, name=name, defaults={"label_ja": label_ja.strip(), "label_en": label_en.strip()}
    )
    return scope


def add_offer(
    *,
    offer_id: str,
    source: str,
    target: str,
    scopes: list[str],
    purpose_ja: str,
    purpose_en: str,
    days: int,
    authorization_details: Any = None,
    further_exchange: bool = False,
) -> LinkOffer:
    if not OFFER_ID.fullmatch(offer_id):
        raise OfferError("an offer id is lowercase letters, digits, _ and - (at most 64)")
    if source == target:
        raise OfferError("source and target must be two different clients")
    source_client, target_client = _client(source, "source"), _client(target, "target")
    scopes = list(dict.fromkeys(scopes))
    if not scopes:
        raise OfferError("at least one scope is required")
    known = set(LinkScope.objects.filter(client=target_client).values_list("name", flat=True))
    unknown = [scope for scope in scopes if scope not in known]
    if unknown:
        raise OfferError(f"not link scopes of {target}: {' '.join(unknown)} (add them with: links scope add)")
    if not purpose_ja.strip() or not purpose_en.strip() or max(len(purpose_ja), len(purpose_en)) > 500:
        raise OfferError("both purposes are required (at most 500 characters)")
    if not 1 <= days <= MAX_DAYS:
        raise OfferError(f"days must be 1-{MAX_DAYS}")
    try:
        checked = details.check(authorization_details if authorization_details is not None else [])
    except details.DetailsError as e:
        raise OfferError(str(e)) from None
    with transaction.atomic():
        if LinkOffer.objects.filter(id=offer_id).exists():
            raise OfferError(f"an offer {offer_id!r} is already registered")
        return LinkOffer.objects.create(
            id=offer_id,
            source=source_client,
            target=target_client,
            scopes=scopes,
            authorization_details=checked,
            purpose_ja=purpose_ja.strip(),
            purpose_en=purpose_en.strip(),
            days=days,
            further_exchange=further_exchange,
        )


def disable_offer(offer_id: str) -> bool:
    """Stop an offer: no new consent, and no exchange under its consents (checked at each exchange)."""
    return bool(LinkOffer.objects.filter(id=offer_id).update(active=False))


def describe(offer: LinkOffer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "source": offer.source_id,
        "target": offer.target_id,
        "scopes": offer.scopes,
        "authorization_details": offer.authorization_details,
        "purpose_ja": offer.purpose_ja,
        "purpose_en": offer.purpose_en,
        "days": offer.days,
        "further_exchange": offer.further_exchange,
        "active": offer.active,
    }
