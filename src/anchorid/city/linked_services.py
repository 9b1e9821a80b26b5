"""Which services the city's home may show a resident's status from, once the resident linked them (issue 17).

The operator names each one in the city's data folder (``linked-services.json``, written by ``anchorid city
link-service``): its kind (what the city asks it and how the home shows it), the ``client_id`` the idp knows it by
(the token exchange's ``audience``), its public origin (where its API is) and the idp's link offer the resident
consents to (``docs/protocols/token-exchange.md``). The city learns nothing about a resident from this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from anchorid.common.rp.setup import write_atomically

LINKED_SERVICES_FILE = Path("linked-services.json")


@dataclass(frozen=True)
class Kind:
    """What the city asks a kind of service for: the link scope and the API path that serves it."""

    scope: str
    api_path: str
    default_offer: str


#: In the order the home shows them.
KINDS: dict[str, Kind] = {
    "library": Kind("library:loans", "/api/v1/status", "city-to-library"),
    "currency": Kind("currency:balance", "/api/v1/wallet", "city-to-currency"),
    "participation": Kind("participation:votes", "/api/v1/status", "city-to-participation"),
}


@dataclass(frozen=True)
class LinkedService:
    kind: str
    audience: str
    origin: str
    offer: str

    @property
    def scope(self) -> str:
        return KINDS[self.kind].scope

    @property
    def api_url(self) -> str:
        return self.origin + KINDS[self.kind].api_path


def load(data_dir: Path) -> list[LinkedService]:
    """The configured services in the home's order; none before ``anchorid city link-service`` ran."""
    path = data_dir / LINKED_SERVICES_FILE
    if not path.exists():
        return []
    stored = json.loads(path.read_text())
    return [
        LinkedService(
            kind=kind,
            audience=str(entry["audience"]),
            origin=str(entry["origin"]).rstrip("/"),
            offer=str(entry["offer"]),
        )
        for kind in KINDS
        if isinstance(entry := stored.get(kind), dict)
    ]


def save(data_dir: Path, service: LinkedService) -> None:
    """Add or replace the service of this kind."""
    if service.kind not in KINDS:
        raise ValueError(f"unknown kind {service.kind!r}; one of {', '.join(KINDS)}")
    if not service.origin.startswith(("http://", "https://")):
        raise ValueError("the origin must be an http(s) URL")
    path = data_dir / LINKED_SERVICES_FILE
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[service.kind] = {"audience": service.audience, "origin": service.origin.rstrip("/"), "offer": service.offer}
    write_atomically(path, json.dumps(stored, indent=2), 0o600)
