"""What a production deployment must not run with: ``anchorid check PARTY --deploy``, and ``anchorid serve`` when
``ANCHORID_ENV=production`` (docs/decisions.md D23).

Django system checks (``django.core.checks``) under the tag :data:`TAG`, registered as deployment checks, so
``django-admin check --deploy --tag anchorid-deploy`` runs them too. Each error names the environment variable
to change and what to set it to; every problem is reported, not only the first. Django's own ``security.*``
deployment checks are not used: they name Django settings rather than the variables an operator sets, and some
(``SECURE_SSL_REDIRECT``) do not apply behind a TLS-terminating proxy; the ones that matter are here, in our terms:

- every setting declared ``production=True`` in ``anchorid.common.config`` for this party is set (no secret
  generated into a data folder, which a second instance would not share, and a person-key secret nobody backs up);
- secrets are not weak (short, few different characters, a placeholder word), not reused for two purposes, and
  jlis's CA passphrase is not the one earlier versions derived from the secret key (the old fallback);
- ``ANCHORID_DEBUG`` is off, cookies are ``Secure``, the party's origin is https and HSTS is on;
- SQLite is served by one worker only (``ANCHORID_WORKERS`` / ``--workers``);
- the data folder and the key folders are readable by their owner only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

from anchorid.common import config

#: The tag of the deployment checks (``check --deploy --tag anchorid-deploy``).
TAG = "anchorid-deploy"
#: Shortest secret a production deployment accepts (the key stores accept 12 in development).
MIN_SECRET_LENGTH = 16
MIN_SECRET_DIFFERENT_CHARACTERS = 8
#: Words that mark a value copied from documentation or a test rather than generated.
PLACEHOLDERS = ("changeme", "change-me", "change_me", "example", "password", "passphrase", "secret", "test", "demo")
#: The party each settings module serves (its ROOT_URLCONF's package).
PARTY_OF_PACKAGE = {
    "jlis": config.JLIS,
    "idp": config.IDP,
    "city": config.CITY,
    "providersim": config.PROVIDERS,
    "participation": config.PARTICIPATION,
    "currency": config.CURRENCY,
    "library": config.LIBRARY,
}
ORIGINS = {
    config.JLIS: config.JLIS_ORIGIN,
    config.IDP: config.IDP_ORIGIN,
    config.CITY: config.CITY_ORIGIN,
    config.PROVIDERS: config.PROVIDERS_ORIGIN,
    config.PARTICIPATION: config.PARTICIPATION_ORIGIN,
    config.CURRENCY: config.CURRENCY_ORIGIN,
    config.LIBRARY: config.LIBRARY_ORIGIN,
}
_MAKE_SECRET = "\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\""  # noqa: S105 -- a command
_MAKE_FERNET = "\"$(python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')\""
#: How many unsafe files one error lists before it says "and N more".
_SHOWN_PATHS = 5


def register_all() -> None:
    for function in (
        check_required_settings,
        check_weak_secrets,
        check_debug,
        check_cookies,
        check_https,
        check_sqlite_workers,
        check_file_modes,
    ):
        checks.register(function, TAG, deploy=True)


def current_party() -> str:
    package = str(settings.ROOT_URLCONF).split(".")[1]
    return PARTY_OF_PACKAGE[package]


def _error(number: int, message: str, hint: str) -> checks.Error:
    return checks.Error(message, hint=hint, id=f"anchorid.deploy.E{number:03d}")


def required_settings(party: str) -> list[config.Setting[Any]]:
    """What production needs of ``party``: its settings declared ``production=True``, except that a key store in a
    PKCS#11 token needs the token's module, label and PIN instead of the key files' passphrase."""
    required = [setting for setting in config.declared(party) if setting.production]
    hsm: dict[config.Setting[Any], tuple[config.Setting[Any], list[config.Setting[Any]]]] = {
        config.KEYSTORE_PASSPHRASE: (
            config.KEYSTORE,
            [config.PKCS11_MODULE, config.PKCS11_TOKEN_LABEL, config.PKCS11_PIN],
        ),
        config.JLIS_CA_PASSPHRASE: (
            config.JLIS_KEYSTORE,
            [config.JLIS_PKCS11_TOKEN_LABEL, config.JLIS_PKCS11_PIN],
        ),
    }
    for passphrase, (backend, instead) in hsm.items():
        if passphrase in required and backend.value() == "pkcs11":
            required.remove(passphrase)
            required += instead
    return required


def check_required_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for setting in required_settings(current_party()):
        if not setting.is_set():
            make = _MAKE_FERNET if setting is config.ATTRIBUTE_KEYS else _MAKE_SECRET
            found.append(
                _error(
                    1,
                    f"{setting.name} is not set; production needs it: {setting.doc}",
                    f"export {setting.name}={make} from your secret store: the same value on every instance and "
                    "every start, backed up. A deployment that already ran on the value generated into its data "
                    "folder exports that file's content instead.",
                )
            )
    return found


def _weakness(value: str) -> str | None:
    if len(value) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < MIN_SECRET_DIFFERENT_CHARACTERS:
        return f"fewer than {MIN_SECRET_DIFFERENT_CHARACTERS} different characters"
    lowered = value.lower()
    for word in PLACEHOLDERS:
        if word in lowered:
            return f"contains the placeholder word {word!r}"
    return None


def _legacy_jlis_passphrase() -> str | None:
    """The passphrase earlier jlis versions derived from the secret key when none was set (the old fallback)."""
    from anchorid.jlis.keystore import legacy_secret_key_passphrase

    return legacy_secret_key_passphrase().decode()


def check_weak_secrets(**kwargs: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    party = current_party()
    # Secret text only: DATABASE_URL is hidden in messages (it may hold a password) but is no secret to grade.
    secrets = [setting for setting in config.declared(party) if setting.kind is config.SECRET and setting.is_set()]
    seen: dict[str, str] = {}
    for setting in secrets:
        value = str(setting.raw())
        weakness = None if setting is config.ATTRIBUTE_KEYS else _weakness(value)  # Fernet keys: E004 checks them
        if weakness:
            found.append(_error(2, f"{setting.name} is weak: {weakness}", f"export {setting.name}={_MAKE_SECRET}"))
        if value in seen:
            found.append(
                _error(
                    3,
                    f"{setting.name} has the same value as {seen[value]}: one leaked secret would open both",
                    f"give {setting.name} a value of its own ({_MAKE_SECRET})",
                )
            )
        seen.setdefault(value, setting.name)
    if party == config.JLIS and config.JLIS_CA_PASSPHRASE.raw() == _legacy_jlis_passphrase():
        found.append(
            _error(
                4,
                "ANCHORID_JLIS_CA_PASSPHRASE is the fallback earlier versions derived from the secret key: whoever "
                "holds the secret key opens the CA keys",
                f"seal the CA keys under a passphrase of their own ({_MAKE_SECRET}); see docs/keystore.md",
            )
        )
    return found


def check_debug(**kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return [_error(10, "ANCHORID_DEBUG is on: error pages would show code and settings", "unset ANCHORID_DEBUG")]
    return []


def check_cookies(**kwargs: Any) -> list[checks.CheckMessage]:
    if not (settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        return [
            _error(
                11,
                "ANCHORID_INSECURE_COOKIES=1: session and CSRF cookies would also travel over plain HTTP",
                "unset ANCHORID_INSECURE_COOKIES (it is for http://localhost only)",
            )
        ]
    return []


def check_https(**kwargs: Any) -> list[checks.CheckMessage]:
    origin = ORIGINS[current_party()]
    value = origin.value()
    found: list[checks.CheckMessage] = []
    if not value.lower().startswith("https://"):
        found.append(
            _error(
                12,
                f"{origin.name} is {value}: browsers would reach this party over plain HTTP, and get no HSTS",
                f"set {origin.name} to the https:// URL browsers use; terminate TLS here or in a proxy "
                "(then also ANCHORID_TLS_PROXY=1)",
            )
        )
    hsts = config.HSTS_SECONDS.value()
    if hsts is not None and hsts <= 0:
        found.append(
            _error(
                13,
                f"HSTS is off (ANCHORID_HSTS_SECONDS={hsts}): browsers may be talked into plain HTTP",
                "unset ANCHORID_HSTS_SECONDS (a year by default over https) or set it to at least 31536000",
            )
        )
    return found


def check_sqlite_workers(**kwargs: Any) -> list[checks.CheckMessage]:
    database = settings.DATABASES["default"]
    workers = config.WORKERS.value()
    if "sqlite" in str(database["ENGINE"]) and workers > 1:
        return [
            _error(
                20,
                f"ANCHORID_WORKERS is {workers} (or --workers) on SQLite ({database['NAME']}): one writer at a time, "
                "and every worker's background work on one file",
                "set DATABASE_URL=postgres://… (install anchorid[postgres]), or serve with one worker",
            )
        ]
    return []


def _exposed(folder: Path) -> list[Path]:
    """Folders and files under ``folder`` (itself included) that group or others may read, write or enter."""
    found: list[Path] = []
    if not folder.exists():
        return found
    for root, _dirs, files in os.walk(folder):  # every folder is a root once; links to folders are not entered
        for path in [Path(root), *(Path(root) / name for name in files)]:
            info = path.lstat()
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                found.append(path)
    return found


def check_file_modes(**kwargs: Any) -> list[checks.CheckMessage]:
    data = Path(settings.DATA_DIR)
    folders = [data]
    for name in ("ANCHORID_KEYSTORE_DIR", "JLIS_KEY_DIR"):
        folder = getattr(settings, name, None)
        if folder is not None and not Path(folder).resolve().is_relative_to(data.resolve()):
            folders.append(Path(folder))
    found: list[checks.CheckMessage] = []
    for folder in folders:
        exposed = _exposed(folder)
        if exposed:
            shown = ", ".join(f"{path} ({stat.S_IMODE(path.lstat().st_mode):04o})" for path in exposed[:_SHOWN_PATHS])
            more = f" and {len(exposed) - _SHOWN_PATHS} more" if len(exposed) > _SHOWN_PATHS else ""
            setting = "ANCHORID_DATA_DIR" if folder == data else "ANCHORID_KEYSTORE_DIR"
            found.append(
                _error(
                    21,
                    f"{setting}: others on this machine may read what protects residents' data: {shown}{more}",
                    f"chmod -R go-rwx {folder} (and run the server under its own user)",
                )
            )
    return found
