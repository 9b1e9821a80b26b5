"""The departments' own relying-party registration: ``client_id`` ``city-departments``, files in
``<city data>/departments/`` (keys, ``anchorid-client.json``, ``ssf-receiver.json``), pages under
``<city origin>/departments/``.

The city's portal asks AnchorID only for what its services use (no address). The departments need the address,
so they ask for it themselves, once, with the resident's consent ("share my address with the city's departments"),
and are the ones that receive its changes. Their redirect URIs are on the city's host, so they are in the city's
pairwise sector: the resident has the same ``sub`` at the portal and at the departments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anchorid.common.rp import setup as rp_setup
from anchorid.common.rp.client import ClientConfig

CLIENT_ID = "city-departments"
NAME = "鎌倉市 市民課・税務課"
SCOPE = "openid address"
CLAIMS: dict[str, Any] = {"userinfo": {"address": {"essential": True}}}
FOLDER = "departments"
SETUP_COMMAND = "anchorid city departments-setup"


def folder(city_data: Path) -> Path:
    return city_data / FOLDER


def origin(city_origin: str) -> str:
    return f"{city_origin.rstrip('/')}/{FOLDER}"


def write(city_data: Path, *, issuer: str, city_origin: str) -> dict[str, Any]:
    rp_setup.ensure_keys(folder(city_data))
    return rp_setup.write_config(folder(city_data), issuer=issuer, origin=origin(city_origin), client_id=CLIENT_ID,
                                 scope=SCOPE, claims=CLAIMS)  # fmt: skip


def load(city_data: Path) -> ClientConfig:
    return rp_setup.load_config(folder(city_data), setup_command=SETUP_COMMAND)
