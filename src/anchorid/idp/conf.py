"""The idp's own settings (defined in ``anchorid.idp.settings``), read in one place with their types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings


def _setting(name: str) -> Any:
    return getattr(settings, name)


def keystore_dir() -> Path:
    return Path(_setting("ANCHORID_KEYSTORE_DIR"))


def keystore_passphrase() -> str | None:
    value = getattr(settings, "ANCHORID_KEYSTORE_PASSPHRASE", None)
    return str(value) if value else None


def keystore_backend() -> str:
    """``file`` (encrypted files, the default) or ``pkcs11`` (a hardware security module): ``ANCHORID_KEYSTORE``."""
    return str(getattr(settings, "ANCHORID_KEYSTORE", "file") or "file").strip().lower()


def pkcs11_module() -> str:
    return str(getattr(settings, "ANCHORID_PKCS11_MODULE", "") or "")


def pkcs11_token_label() -> str:
    return str(getattr(settings, "ANCHORID_PKCS11_TOKEN_LABEL", "") or "")


def pkcs11_pin() -> str | None:
    value = getattr(settings, "ANCHORID_PKCS11_PIN", None)
    return str(value) if value else None


def audit_origin() -> str:
    return str(_setting("ANCHORID_AUDIT_ORIGIN"))


def audit_signing_key() -> str:
    return str(_setting("ANCHORID_AUDIT_SIGNING_KEY"))


def idp_origin() -> str:
    """``scheme://host[:port]`` of the idp as browsers reach it (WebAuthn origin; card-helper CORS)."""
    return str(_setting("ANCHORID_IDP_ORIGIN"))
