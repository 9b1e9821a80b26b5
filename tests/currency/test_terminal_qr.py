"""The terminal's QR decoder is the pinned jsQR release, served from the currency itself and loaded with its
Subresource Integrity hash (its decoding of a real camera frame is walked in tests/interop/test_browser_currency.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from django.test import Client

from anchorid.currency import service, vendored
from anchorid.currency.models import Member

REPO = Path(__file__).resolve().parents[2]
SERVED = REPO / "src/anchorid/currency/static/currency/vendor/jsQR.js"
PINNED = REPO / "tests/support/jsqr"


def test_it_serves_the_pinned_jsqr_release_byte_for_byte() -> None:
    lock = json.loads((PINNED / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/jsqr"]
    assert entry["version"] == vendored.JSQR_VERSION
    assert entry["integrity"].startswith("sha512-")
    release = PINNED / "node_modules/jsqr/dist/jsQR.js"
    assert release.exists(), "run scripts/bootstrap --test (npm ci of tests/support/jsqr)"
    assert SERVED.read_bytes() == release.read_bytes()
    assert (SERVED.parent / "jsQR.LICENSE").read_text().startswith(" " * 33 + "Apache License")


@pytest.mark.django_db
def test_it_loads_jsqr_on_the_terminal_with_its_integrity_hash(resident_client: tuple[Client, Member]) -> None:
    client, member = resident_client
    shop = service.register_merchant(member.sub, "鎌倉パン", "food")
    page = client.get(f"/merchant/{shop.pk}/terminal/").content.decode()
    digest = base64.b64encode(hashlib.sha384(SERVED.read_bytes()).digest()).decode()
    assert f'src="/static/currency/vendor/jsQR.js" integrity="sha384-{digest}"' in page
    assert f"sha384-{digest}" == vendored.JSQR_INTEGRITY
    assert 'id="terminal-code"' in page  # the keyboard-wedge / typed entry stays
