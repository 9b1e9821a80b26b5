"""The city's relying-party files (the layout is the shared one, ``anchorid.common.rp.setup``) and what the city
asks the idp for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anchorid.common.rp import setup as common_setup
from anchorid.common.rp.client import ClientConfig
from anchorid.common.rp.setup import (
    CONFIG_FILE,
    JWKS_FILE,
    client_add_command,
    configured_issuer,
    ensure_keys,
    redirect_uris,
    register_or_print,
    requested_claim_names,
)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_CLAIMS",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SCOPE",
    "JWKS_FILE",
    "client_add_command",
    "configured_issuer",
    "ensure_keys",
    "load_config",
    "redirect_uris",
    "register_or_print",
    "requested_claim_names",
    "write_config",
]

DEFAULT_CLIENT_ID = "city"
DEFAULT_SCOPE = "openid"
#: What the city asks for (OIDC Core §5.5), and only that: the name (bookings and receipts carry it) and the
#: municipality (resident booking windows and fees) are essential; ``age_over_65`` (the senior reduction, a boolean,
#: never the birth date) is optional, so the resident may decline it on the consent screen. No birth date, no address.
DEFAULT_CLAIMS: dict[str, Any] = {
    "userinfo": {
        "name": {"essential": True},
        "resident_of": {"essential": True},
        "age_over_65": None,
    },
}


def write_config(
    data_dir: Path,
    *,
    issuer: str,
    origin: str,
    client_id: str = DEFAULT_CLIENT_ID,
    scope: str = DEFAULT_SCOPE,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return common_setup.write_config(
        data_dir, issuer=issuer, origin=origin, client_id=client_id, scope=scope,
        claims=DEFAULT_CLAIMS if claims is None else claims,
    )  # fmt: skip


def load_config(data_dir: Path) -> ClientConfig:
    return common_setup.load_config(data_dir, setup_command="anchorid city setup")
