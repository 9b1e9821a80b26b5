"""The platform KeyStore as the CA uses it: opened once per process (unlocking costs a scrypt run per key, and a
PKCS#11 token keeps one logged-in session)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anchorid.idp.keystore import shared_keystore_from_settings

if TYPE_CHECKING:
    from anchorid.idp.keystore import ConfiguredKeyStore


def ca_keystore() -> ConfiguredKeyStore:
    """The settings' key store, one per configuration (a settings change opens a new one)."""
    return shared_keystore_from_settings()
