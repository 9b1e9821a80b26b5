"""The idp's startup checks (``anchorid.common.startup``): what ``anchorid serve idp`` refuses to start without.

- ``ANCHORID_KEYSTORE_PASSPHRASE`` (at least 12 characters) unlocks the platform's keys: ID tokens, JWKS, the
  device CA, the TSA, audit checkpoints. Without it the idp answered 500 at ``/oidc/jwks`` and everywhere a key
  signs. With it, one stored key is opened, so a wrong passphrase is reported now rather than at the first login.
  With ``ANCHORID_KEYSTORE=pkcs11`` the keys are in a PKCS#11 token instead: the module must load, the token be
  there, the PIN log in (a wrong PIN is named here) and a stored key open.
- ``ANCHORID_ATTRIBUTE_KEYS``, when set, must be Fernet keys (a malformed one breaks every attribute read).
- ``ANCHORID_OIDC_SECRET`` and ``ANCHORID_PERSON_KEY_SECRET``, when set, must not be empty-looking (at least 16
  characters). Unset, each is generated once into the data folder (0600) on the first run.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from anchorid.common import config
from anchorid.common.startup import register

MIN_DERIVED_SECRET_LENGTH = 16
_HOW_TO_MAKE = "\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')\""


def check_keystore_passphrase(**kwargs: Any) -> list[checks.CheckMessage]:
    from anchorid.idp import conf
    from anchorid.idp.keystore import MIN_PASSPHRASE_LENGTH, EncryptedFileKeyStore, KeyStoreError

    if conf.keystore_backend() != "file":
        return check_keystore_token()
    passphrase = conf.keystore_passphrase()
    if not passphrase:
        return [
            checks.Error(
                "ANCHORID_KEYSTORE_PASSPHRASE is not set: the idp cannot unlock its keys (ID tokens, JWKS, device "
                "CA, time-stamps, audit checkpoints)",
                hint=f"export ANCHORID_KEYSTORE_PASSPHRASE={_HOW_TO_MAKE} (at least {MIN_PASSPHRASE_LENGTH} "
                "characters, kept outside the data folder; the same value every start, or the keys will not open)",
                id="anchorid.idp.E001",
            )
        ]
    if len(passphrase.encode("utf-8")) < MIN_PASSPHRASE_LENGTH:
        return [
            checks.Error(
                f"ANCHORID_KEYSTORE_PASSPHRASE is shorter than {MIN_PASSPHRASE_LENGTH} characters",
                hint=f"export ANCHORID_KEYSTORE_PASSPHRASE={_HOW_TO_MAKE}",
                id="anchorid.idp.E002",
            )
        ]
    store = EncryptedFileKeyStore(conf.keystore_dir(), passphrase)
    names = store.list()
    if names:
        try:
            store.public_key(names[0])
        except KeyStoreError:
            return [
                checks.Error(
                    f"ANCHORID_KEYSTORE_PASSPHRASE does not open the key {names[0]!r} in {store.directory}",
                    hint="Set the passphrase the keys were created with (wrong passphrase, or an altered key file).",
                    id="anchorid.idp.E003",
                )
            ]
    return []


def check_keystore_token() -> list[checks.CheckMessage]:
    """``ANCHORID_KEYSTORE=pkcs11``: the module loads, the token is there, the PIN logs in, a stored key opens."""
    from anchorid.idp.keystore import KeyStoreError, keystore_from_settings

    try:
        store = keystore_from_settings()
        names = store.list()
        if names:
            store.public_key(names[0])
    except KeyStoreError as error:
        return [
            checks.Error(
                f"the platform's keys cannot be used: {error}",
                hint="ANCHORID_KEYSTORE=pkcs11 needs ANCHORID_PKCS11_MODULE, ANCHORID_PKCS11_TOKEN_LABEL and "
                "ANCHORID_PKCS11_PIN (docs/keystore.md); unset ANCHORID_KEYSTORE to use the key files",
                id="anchorid.idp.E007",
            )
        ]
    return []


def check_attribute_keys(**kwargs: Any) -> list[checks.CheckMessage]:
    from cryptography.fernet import Fernet

    configured = config.ATTRIBUTE_KEYS.value()
    if configured is None:
        return []
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    try:
        if not keys:
            raise ValueError("no key")
        for key in keys:
            Fernet(key.encode())
    except ValueError:
        return [
            checks.Error(
                "ANCHORID_ATTRIBUTE_KEYS is set but is not a comma-separated list of Fernet keys (newest first)",
                hint="Make one with python3 -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())', or unset it to keep the keys in the data folder.",
                id="anchorid.idp.E004",
            )
        ]
    return []


def check_derived_secrets(**kwargs: Any) -> list[checks.CheckMessage]:

    found: list[checks.CheckMessage] = []
    for number, setting in ((5, config.OIDC_SECRET), (6, config.PERSON_KEY_SECRET)):
        name = setting.name
        value = setting.configured()
        if value is not None and len(str(value)) < MIN_DERIVED_SECRET_LENGTH:
            found.append(
                checks.Error(
                    f"{name} is set but shorter than {MIN_DERIVED_SECRET_LENGTH} characters",
                    hint=f"export {name}={_HOW_TO_MAKE}, or unset it to have one generated into the data folder "
                    "(and never change it afterwards: pairwise identifiers and person keys depend on it)",
                    id=f"anchorid.idp.E00{number}",
                )
            )
    return found


def register_all() -> None:
    register(check_keystore_passphrase)
    register(check_attribute_keys)
    register(check_derived_secrets)
