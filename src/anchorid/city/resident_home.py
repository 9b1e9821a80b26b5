"""The personalized resident home (申請主義からの転換, issue 17): what the resident's linked services say now.

For each service the operator configured (``linked_services``), at each view of the home:

1. the city's own access token for the resident (``resident_tokens``, refreshed when due) is exchanged at the idp
   for a token toward that service (RFC 8693, ``AnchorIDClient.exchange_token``): the idp issues it only under the
   resident's standing consent for the link city → service, so a refusal there means "not linked" and the home
   invites the resident to link (the idp's consent screen) — nothing is asked of the service;
2. the service's read API is called with that token (DPoP-bound to the city's key, ``linked_request``);
3. its answer is checked and turned into what the page shows. A service that cannot be reached, answers an error or
   answers nonsense gets a sentence saying so, never an error page.

Nothing of it is stored: the answers live in this request's memory only (no model, no cache, no session, no log
of their content). The services are asked in parallel, each with its own exchange.
"""

from __future__ import annotations

import datetime
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext_lazy

from anchorid.city import resident_tokens
from anchorid.city.linked_services import LinkedService
from anchorid.common import untrusted_json
from anchorid.common.rp.client import AnchorIDClient, LoginError

log = logging.getLogger(__name__)

#: A slow service must not hold the resident's home for long.
FETCH_TIMEOUT_SECONDS = 5
MAX_ITEMS = 20

SHOWN, NOT_LINKED, UNAVAILABLE, REFUSED, LOG_IN_AGAIN, NOT_REGISTERED = (
    "shown", "not_linked", "unavailable", "refused", "log_in_again", "not_registered",
)  # fmt: skip
LABELS = {"library": gettext_lazy("E-library"), "currency": gettext_lazy("Local currency"),
          "participation": gettext_lazy("Citizen participation")}  # fmt: skip
#: The idp's answers to an exchange that mean "this resident has no live consent for this link".
NO_CONSENT = frozenset({"invalid_grant", "invalid_scope", "consent_required"})


class BadAnswer(ValueError):
    """The service answered something the home cannot show."""


@dataclass
class Panel:
    """One service's box on the home: its kind, what happened, and what to show."""

    service: LinkedService
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    link_url: str = ""

    @property
    def kind(self) -> str:
        return self.service.kind

    @property
    def label(self) -> str:
        """The service as residents name it (never its client id)."""
        return str(LABELS[self.service.kind])


def consent_url(issuer: str, service: LinkedService, return_to: str) -> str:
    """The idp's consent screen for the link city → ``service`` (docs/protocols/token-exchange.md §2)."""
    return f"{issuer.rstrip('/')}/links/consent/?{urlencode({'offer': service.offer, 'return_to': return_to})}"


def panels(
    session: SessionBase, client: AnchorIDClient, services: list[LinkedService], *, return_to: str
) -> list[Panel]:
    """Every configured service's panel for the logged-in resident of ``session``."""
    if not services:
        return []
    try:
        access_token = resident_tokens.fresh_access_token(session, client)
    except LoginError:
        access_token = None
    if access_token is None:
        return [Panel(service, LOG_IN_AGAIN) for service in services]
    issuer = client.config.issuer
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        found = list(pool.map(lambda service: _panel(client, service, access_token), services))
    for panel in found:
        if panel.state == NOT_LINKED:
            panel.link_url = consent_url(issuer, panel.service, return_to)
    return found


def _panel(client: AnchorIDClient, service: LinkedService, access_token: str) -> Panel:
    try:
        token = client.exchange_token(subject_token=access_token, audience=service.audience, scope=service.scope)
    except LoginError as error:
        if error.code in NO_CONSENT:
            return Panel(service, NOT_LINKED)
        log.warning("token exchange for %s refused: %s", service.kind, error.code)
        return Panel(service, UNAVAILABLE)
    try:
        response = client.linked_request("GET", service.api_url, token, timeout=FETCH_TIMEOUT_SECONDS)
    except (requests.RequestException, LoginError) as error:
        log.warning("%s could not be reached: %s", service.kind, type(error).__name__)
        return Panel(service, UNAVAILABLE)
    if response.status_code in (401, 403):
        log.warning("%s refused the linked request: HTTP %s", service.kind, response.status_code)
        return Panel(service, REFUSED)
    if service.kind == "currency" and response.status_code == 404:
        return Panel(service, NOT_REGISTERED)  # no wallet at the currency yet
    if response.status_code != 200:
        log.warning("%s answered HTTP %s", service.kind, response.status_code)
        return Panel(service, UNAVAILABLE)
    try:
        body = untrusted_json.loads(response.content)
        if not isinstance(body, dict):
            raise BadAnswer("not an object")
        data = READERS[service.kind](body, service.origin)
    except (ValueError, TypeError, KeyError) as error:
        log.warning("%s answered something unexpected: %s", service.kind, type(error).__name__)
        return Panel(service, UNAVAILABLE)
    if data.pop("registered", True) is False:
        return Panel(service, NOT_REGISTERED)
    return Panel(service, SHOWN, data)


# --- reading the answers (untrusted: every field checked, links only to the service's own origin) --------------------


def _text(value: object, limit: int = 300) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadAnswer("a text field is missing")
    return value.strip()[:limit]


def _amount(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadAnswer("an amount is not a whole number")
    return value


def _moment(value: object) -> datetime.datetime:
    if not isinstance(value, str):
        raise BadAnswer("a date is missing")
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise BadAnswer("a date without its time zone")
    return moment


def _link(value: object, origin: str) -> str:
    """A link the service gave, only when it points into the service itself (never another site, never script)."""
    return value if isinstance(value, str) and value.startswith(origin + "/") else origin + "/"


def _items(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise BadAnswer("a list is missing")
    return value[:MAX_ITEMS]


def _library(body: dict[str, Any], origin: str) -> dict[str, Any]:
    return {
        "registered": body.get("registered") is not False,
        "loans": [{"title": _text(item["title"]), "due_at": _moment(item["due_at"]),
                   "url": _link(item.get("url"), origin)} for item in _items(body["loans"])],
        "holds_ready": [{"title": _text(item["title"]),
                         "ready_until": _moment(item["ready_until"]) if item.get("ready_until") else None,
                         "url": _link(item.get("url"), origin)} for item in _items(body["holds_ready"])],
        "holds_waiting": _amount(body.get("holds_waiting", 0)),
    }  # fmt: skip


def _currency(body: dict[str, Any], origin: str) -> dict[str, Any]:
    return {
        "balance": _amount(body["balance"]),
        "expiring": [{"amount": _amount(item["amount"]), "expires_at": _moment(item["expires_at"])}
                     for item in _items(body.get("expiring_soon", []))],
        "benefits": [{"name": _text(item["name"]), "amount": _amount(item["amount"]),
                      "closes_at": _moment(item["closes_at"]), "url": _link(item.get("claim_url"), origin)}
                     for item in _items(body.get("unclaimed_benefits", []))],
    }  # fmt: skip


def _participation(body: dict[str, Any], origin: str) -> dict[str, Any]:
    return {
        "votes": [{"title": _text(item["title"]), "url": _link(item.get("url"), origin),
                   "residents_only": item.get("who_may_vote") == "resident",
                   "adults_only": item.get("adults_only") is True}
                  for item in _items(body["open_votes"])],
    }  # fmt: skip


READERS = {"library": _library, "currency": _currency, "participation": _participation}
