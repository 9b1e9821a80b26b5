"""The provider's own secret, from which the pairwise, refresh-token and DPoP-nonce keys are derived.

``ANCHORID_OIDC_SECRET`` when set; otherwise 32 random bytes generated once into ``DATA_DIR/oidc_secret`` (0600).
Pairwise ``sub`` values depend on it: losing or changing it changes every resident's ``sub`` at every service, so it
is backed up with the data folder (docs/claims-and-consent.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from django.conf import settings

from anchorid.common import config

_lock = threading.Lock()
_derived: dict[str, bytes] = {}


def _master() -> bytes:
    configured = config.OIDC_SECRET.configured()
    if configured:
        return str(configured).encode("utf-8")
    path = Path(settings.DATA_DIR) / "oidc_secret"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip().encode("ascii")


def derived_key(purpose: str) -> bytes:
    """A 32-byte key for one purpose (``pairwise``, ``refresh``, ``dpop-nonce``), derived with HMAC-SHA256."""
    with _lock:
        key = _derived.get(purpose)
        if key is None:
            key = _derived[purpose] = hmac.new(_master(), purpose.encode("ascii"), hashlib.sha256).digest()
        return key


def forget() -> None:
    """Drop the derived keys (tests that change the secret or the data folder)."""
    with _lock:
        _derived.clear()
