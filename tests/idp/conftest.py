from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from anchorid.idp.audit.chain import append
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.keystore import EncryptedFileKeyStore

PASSPHRASE = "correct horse battery staple"
# Cheap scrypt for tests that only need *a* store; the default cost is exercised in test_keystore.
FAST_SCRYPT_N = 2**10


@pytest.fixture
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture
def open_keystore() -> Callable[[Path], EncryptedFileKeyStore]:
    def open_(directory: Path) -> EncryptedFileKeyStore:
        return EncryptedFileKeyStore(directory, PASSPHRASE, scrypt_n=FAST_SCRYPT_N)

    return open_


@pytest.fixture
def keystore(tmp_path: Path, open_keystore: Callable[[Path], EncryptedFileKeyStore]) -> EncryptedFileKeyStore:
    return open_keystore(tmp_path / "keys")


@pytest.fixture
def platform_keys(settings: Settings, tmp_path: Path) -> Path:
    """Point the idp's key store at ``tmp_path/keys`` (what ``--data tmp_path`` would use) and unlock it."""
    settings.ANCHORID_KEYSTORE_DIR = tmp_path / "keys"
    settings.ANCHORID_KEYSTORE_PASSPHRASE = PASSPHRASE
    return tmp_path


@pytest.fixture
def log_entries() -> Callable[[int], list[AuditEntry]]:
    def write(count: int, **details: Any) -> list[AuditEntry]:
        return [
            append("login", f"acct_{i}", f"acct_{i}", details or {"method": "passkey", "outcome": "success"})
            for i in range(count)
        ]

    return write
