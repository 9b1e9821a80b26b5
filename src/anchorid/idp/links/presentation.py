"""What residents read about a link: service names, the labels of its scopes, its limits, its dates — never scope
strings, detail types or ids (docs/protocols/token-exchange.md §2, §8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from anchorid.common import display
from anchorid.idp.links.models import LinkConsent, LinkExchange, LinkOffer, LinkScope
from anchorid.idp.oidc.models import Client


def scope_labels(target_id: str, scopes: list[str]) -> list[str]:
    labels = {s.name: display.local(s, "label") for s in LinkScope.objects.filter(client_id=target_id, name__in=scopes)}
    return [labels.get(scope, _("Other information of this service")) for scope in scopes]


def _number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def detail_lines(details: list[dict[str, Any]]) -> list[str]:
    """The limits a link carries (RFC 9396 objects), in words."""
    lines = []
    for item in details:
        if item.get("type") == "anchorid_currency_credit" and _number(item.get("max_yen_per_month")):
            lines.append(_("Up to %(amount)s a month") % {"amount": display.yen(item["max_yen_per_month"])})
        else:
            lines.append(_("Within limits the two services agreed on"))
    return lines


@dataclass
class ExchangeRow:
    at: str
    what: list[str]


@dataclass
class LinkRow:
    id: str
    source: str
    target: str
    what: list[str]
    limits: list[str]
    purpose: str
    since: str
    until: str
    status: str  # "live" | "expired" | "withdrawn"
    status_label: str
    withdrawn: str = ""
    exchanges: list[ExchangeRow] = field(default_factory=list)


def _names(client_ids: set[str]) -> dict[str, str]:
    return {c.client_id: c.name for c in Client.objects.filter(client_id__in=client_ids)}


def offer_view(offer: LinkOffer) -> dict[str, Any]:
    """What the consent screen shows for an offer."""
    return {
        "source": offer.source.name,
        "target": offer.target.name,
        "what": scope_labels(offer.target_id, offer.scopes),
        "limits": detail_lines(offer.authorization_details),
        "purpose": display.local(offer, "purpose"),
        "days": offer.days,
    }


def link_rows(account: Any, *, now: datetime, exchanges: int = 20) -> list[LinkRow]:
    consents = list(LinkConsent.objects.filter(account=account).order_by("-granted_at"))
    names = _names({c.source_id for c in consents} | {c.target_id for c in consents})
    rows = []
    for consent in consents:
        if consent.withdrawn_at is not None:
            status, label = "withdrawn", _("Withdrawn")
        elif consent.expires_at <= now:
            status, label = "expired", _("Expired")
        else:
            status, label = "live", _("Linked")
        log = LinkExchange.objects.filter(consent=consent).order_by("-created_at")[:exchanges]
        rows.append(
            LinkRow(
                id=consent.id,
                source=names.get(consent.source_id, _("A service no longer registered")),
                target=names.get(consent.target_id, _("A service no longer registered")),
                what=scope_labels(consent.target_id, consent.scopes),
                limits=detail_lines(consent.authorization_details),
                purpose=display.local(consent, "purpose"),
                since=display.day(timezone.localdate(consent.granted_at)),
                until=display.day(timezone.localdate(consent.expires_at)),
                status=status,
                status_label=label,
                withdrawn=display.when(consent.withdrawn_at),
                exchanges=[
                    ExchangeRow(display.when(e.created_at), scope_labels(consent.target_id, e.scope.split()))
                    for e in log
                ],
            )
        )
    return rows
