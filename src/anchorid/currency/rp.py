"""The currency's relying-party files (the shared layout, ``anchorid.common.rp.setup``) and what it asks the idp
for: ``resident_of`` (the tier: resident or visitor) and, optionally, ``age_over_65`` (benefits for older
residents; the resident may decline it). Never the name, the address or the birth date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anchorid.common.rp import setup as common_setup
from anchorid.common.rp.client import ClientConfig

DEFAULT_CLIENT_ID = "currency"
SETUP_COMMAND = "anchorid currency setup"
DEFAULT_CLAIMS: dict[str, Any] = {"userinfo": {"resident_of": {"essential": True}, "age_over_65": None}}
#: The step-up before a large payment: a fresh login (prompt=login) at passkey level or above.
STEP_UP_ACR = "urn:anchorid:acr:ial3-aal2"


def write_config(data_dir: Path, *, issuer: str, origin: str, client_id: str = DEFAULT_CLIENT_ID) -> dict[str, Any]:
    return common_setup.write_config(
        data_dir, issuer=issuer, origin=origin, client_id=client_id, scope="openid", claims=DEFAULT_CLAIMS
    )


def load_config(data_dir: Path) -> ClientConfig:
    return common_setup.load_config(data_dir, setup_command=SETUP_COMMAND)
