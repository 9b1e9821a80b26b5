"""Provider tests (``--ds=anchorid.providersim.settings``): the receiver library and the sample providers.

The transmitter is tests/support/ssf_transmitter.py (its published configuration and keys over HTTP, SETs signed
by the test); the idp's own transmitter is exercised end to end in tests/interop/test_lifecycle_*.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchorid.common.rp import setup as rp_setup
from anchorid.common.settings_base import DATA_DIR
from anchorid.providersim import customers
from anchorid.providersim.providers import CLAIMS, PROVIDERS, SCOPE
from anchorid.ssf_receiver.setup import ensure_receiver_file
from support.ssf_transmitter import Transmitter, serve_transmitter

PROVIDER = "electricity"
CLIENT_ID = PROVIDERS[PROVIDER].client_id


@pytest.fixture
def transmitter() -> Iterator[Transmitter]:
    yield from serve_transmitter(CLIENT_ID)


@pytest.fixture
def provider_files(transmitter: Transmitter) -> Iterator[Path]:
    """The electricity provider set up against the test transmitter (its files in the test data folder)."""
    folder = PROVIDERS[PROVIDER].data_dir(DATA_DIR)
    rp_setup.ensure_keys(folder)
    rp_setup.write_config(folder, issuer=transmitter.issuer, origin=f"http://testserver/{PROVIDER}",
                          client_id=CLIENT_ID, scope=SCOPE, claims=CLAIMS)  # fmt: skip
    ensure_receiver_file(folder, endpoint_url=f"http://testserver/{PROVIDER}/ssf/events")
    customers.client.cache_clear()
    customers.receiver.cache_clear()
    yield folder
    customers.client.cache_clear()
    customers.receiver.cache_clear()


@pytest.fixture
def push_token(provider_files: Path) -> str:
    token: str = json.loads((provider_files / "ssf-receiver.json").read_text())["push_token"]
    return token
