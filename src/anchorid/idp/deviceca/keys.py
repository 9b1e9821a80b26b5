"""The platform KeyStore as the CA uses it: opened once per process (unlocking costs a scrypt run per key)."""

from __future__ import annotations

import threading

from anchorid.idp import conf
from anchorid.idp.keystore import EncryptedFileKeyStore, keystore_from_settings

_lock = threading.Lock()
_stores: dict[tuple[str, str | None], EncryptedFileKeyStore] = {}


def ca_keystore() -> EncryptedFileKeyStore:
    """The settings' key store, cached by (directory, passphrase) so a settings change opens a new one."""
    marker = (str(conf.keystore_dir()), conf.keystore_passphrase())
    with _lock:
        store = _stores.get(marker)
        if store is None:
            store = _stores[marker] = keystore_from_settings()
        return store
