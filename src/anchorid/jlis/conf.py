"""Typed access to the jlis settings (settings.py): one place that knows their names and defaults.

mypy's Django plugin checks against one settings module for the whole repository, so these are read with
``getattr`` rather than as attributes it cannot see.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def ca_passphrase() -> str:
    return str(getattr(settings, "JLIS_CA_PASSPHRASE", ""))


def keystore_backend() -> str:
    """``file`` (``JLIS_KEY_DIR`` under the CA passphrase, the default) or ``pkcs11``."""
    return str(getattr(settings, "JLIS_KEYSTORE", "file") or "file").strip().lower()


def pkcs11_module() -> str:
    return str(getattr(settings, "JLIS_PKCS11_MODULE", "") or "")


def pkcs11_token_label() -> str:
    return str(getattr(settings, "JLIS_PKCS11_TOKEN_LABEL", "") or "")


def pkcs11_pin() -> str:
    return str(getattr(settings, "JLIS_PKCS11_PIN", "") or "")


def key_dir() -> Path:
    return Path(getattr(settings, "JLIS_KEY_DIR"))  # noqa: B009 -- see the module docstring


def cards_dir() -> Path:
    return Path(getattr(settings, "JLIS_CARDS_DIR"))  # noqa: B009


def locality() -> str:
    return str(getattr(settings, "JLIS_LOCALITY", "Kamakura-shi"))


def municipality_code() -> str:
    return str(getattr(settings, "JLIS_MUNICIPALITY_CODE", "142042"))
