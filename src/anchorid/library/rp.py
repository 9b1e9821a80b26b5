"""The library's relying-party files (the shared layout, ``anchorid.common.rp.setup``) and its one client.

It asks the idp for one claim, ``resident_of`` (essential): the patron category needs it and nothing else; the
library's rules need no name. Its own pairwise sector gives residents a ``sub`` here that no other party can link.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from anchorid.common.rp import setup as common_setup
from anchorid.common.rp.client import AnchorIDClient, ClientConfig
from anchorid.library.startup_checks import SETUP_COMMAND

CLIENT_ID = "library"
SCOPE = "openid"
SECTOR_IDENTIFIER_URI = "https://library.anchorid.test/"
CLAIMS: dict[str, Any] = {"userinfo": {"resident_of": {"essential": True}}}


def write_config(data_dir: Path, *, issuer: str, origin: str) -> dict[str, Any]:
    return common_setup.write_config(
        data_dir, issuer=issuer, origin=origin, client_id=CLIENT_ID, scope=SCOPE, claims=CLAIMS
    )


def load_config(data_dir: Path) -> ClientConfig:
    return common_setup.load_config(data_dir, setup_command=SETUP_COMMAND)


@functools.cache
def client() -> AnchorIDClient:
    """One client per process: discovery, JWKS and DPoP nonces are cached across requests."""
    from anchorid.common.settings_base import DATA_DIR  # not at import: the command line sets the data folder first

    return AnchorIDClient(load_config(DATA_DIR))
