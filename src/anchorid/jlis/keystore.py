"""CA and OCSP-responder private keys at rest: the platform's encrypted key store, under the CA passphrase.

The keys live in ``JLIS_KEY_DIR`` as ``NAME.key.json`` files of the platform's ``EncryptedFileKeyStore``
(``anchorid.idp.keystore``, docs/keystore.md): PKCS#8 sealed with AES-256-GCM under a key derived from the
passphrase with scrypt. The passphrase comes from ``ANCHORID_JLIS_CA_PASSPHRASE`` (settings
``JLIS_CA_PASSPHRASE``, at least 12 characters) and nowhere else: there is no fallback derived from something in
the same folder (the demo makes a passphrase of its own and passes it, like any operator). Callers get a
``StoredRsaKeySigner``: cryptography's builders sign through it and the private key never leaves the store, so
the keys can move into an HSM without touching the callers.

With ``ANCHORID_JLIS_KEYSTORE=pkcs11`` the keys are in J-LIS's own PKCS#11 token instead (``Pkcs11KeyStore``;
``ANCHORID_JLIS_PKCS11_TOKEN_LABEL``, ``ANCHORID_JLIS_PKCS11_PIN``, and the module ``ANCHORID_JLIS_PKCS11_MODULE``,
by default the idp's ``ANCHORID_PKCS11_MODULE``) under the same names: the database rows still say
``NAME.key.json``, the name the key had as a file, so ``anchorid jlis keys migrate --to pkcs11`` moves the keys
without touching the rows.

Data folders made by earlier versions hold ``.pem`` files (PKCS#8 with PBKDF2 at 2,048 iterations), encrypted
with the configured passphrase or, when none was set, with one derived from Django's ``SECRET_KEY``.
``anchorid jlis upgrade-keys`` seals them into the store under the configured passphrase; until then loading
such a key names the command.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from anchorid.idp.keystore import (
    FILE_SUFFIX,
    MIN_PASSPHRASE_LENGTH,
    EncryptedFileKeyStore,
    KeyNotFound,
    KeyUnreadable,
    StoredRsaKeySigner,
    stored_signer,
)
from anchorid.idp.keystore import KeyStoreError as StoreError
from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore
from anchorid.jlis import conf

PASSPHRASE_SETTING = "ANCHORID_JLIS_CA_PASSPHRASE"  # noqa: S105 -- the name of the setting
LEGACY_SUFFIX = ".pem"
#: How the pre-upgrade default passphrase was derived (only ``upgrade-keys --from-secret-key`` still uses it).
_LEGACY_HKDF_INFO = b"anchorid jlis CA key passphrase"

PKCS11_SETTINGS = "ANCHORID_JLIS_PKCS11_"
_stores: dict[tuple[str, ...], EncryptedFileKeyStore | Pkcs11KeyStore] = {}
_stores_lock = threading.Lock()


class KeyStoreError(RuntimeError):
    """A key file is missing, or cannot be opened with the configured passphrase; the message says what to do."""


def uses_token() -> bool:
    """Whether the CA keys are in a PKCS#11 token (``ANCHORID_JLIS_KEYSTORE=pkcs11``)."""
    return conf.keystore_backend() == "pkcs11"


def passphrase_problem() -> str | None:
    """Why the configured key store cannot be used for want of a passphrase, or None (the startup check asks
    this). A token needs none: its PIN is checked when it is opened."""
    if uses_token():
        return None
    return file_passphrase_problem()


def file_passphrase_problem() -> str | None:
    """Why the CA passphrase cannot open key files, or None."""
    passphrase = conf.ca_passphrase()
    if not passphrase:
        return (
            f"{PASSPHRASE_SETTING} is not set: it encrypts jlis's CA and OCSP keys. Set it to a secret of at least "
            f"{MIN_PASSPHRASE_LENGTH} characters kept outside the data folder, e.g. "
            f"export {PASSPHRASE_SETTING}=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')\" "
            "(and keep it: the keys cannot be opened without it)"
        )
    if len(passphrase.encode("utf-8")) < MIN_PASSPHRASE_LENGTH:
        return f"{PASSPHRASE_SETTING} is shorter than {MIN_PASSPHRASE_LENGTH} characters"
    return None


def store() -> EncryptedFileKeyStore | Pkcs11KeyStore:
    """The CA key store, one per process and configuration: J-LIS's token with ``ANCHORID_JLIS_KEYSTORE=pkcs11``,
    else the files of this data folder (each key is unlocked once, ~0.1 s of scrypt)."""
    backend = conf.keystore_backend()
    if backend == "file":
        return file_store()
    if backend != "pkcs11":
        raise KeyStoreError(f"ANCHORID_JLIS_KEYSTORE must be file or pkcs11, not {backend!r}")
    module, label, pin = conf.pkcs11_module(), conf.pkcs11_token_label(), conf.pkcs11_pin()
    cache_key = ("pkcs11", module, label, hashlib.sha256(pin.encode("utf-8")).hexdigest())
    with _stores_lock:
        found = _stores.get(cache_key)
        if found is None:
            try:
                found = _stores[cache_key] = Pkcs11KeyStore(module, label, pin, setting_prefix=PKCS11_SETTINGS)
            except StoreError as error:
                raise KeyStoreError(str(error)) from None
        return found


def file_store() -> EncryptedFileKeyStore:
    """The key files of this data folder under the CA passphrase (also what ``keys migrate`` reads from)."""
    problem = file_passphrase_problem()
    if problem:
        raise KeyStoreError(problem)
    passphrase = conf.ca_passphrase()
    directory = key_dir()
    cache_key = (str(directory), hashlib.sha256(passphrase.encode("utf-8")).hexdigest())
    with _stores_lock:
        found = _stores.get(cache_key)
        if found is None:
            found = _stores[cache_key] = EncryptedFileKeyStore(directory, passphrase)
        assert isinstance(found, EncryptedFileKeyStore)
        return found


def key_dir() -> Path:
    path = conf.key_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def create_key(label: str) -> tuple[str, StoredRsaKeySigner]:
    """A new RSA-2048 key in the store: the file name to keep in the database, and a signer for it."""
    name = f"{label}-{secrets.token_hex(8)}"
    keys = store()
    keys.create_key(name, "RSA-2048")
    return name + FILE_SUFFIX, _rsa_signer(keys, name)


def load_private_key(file_name: str) -> StoredRsaKeySigner:
    """A signer for the key the database row names (``NAME.key.json``)."""
    if file_name.endswith(LEGACY_SUFFIX):
        raise KeyStoreError(
            f"CA key file {file_name} is in the format of an earlier version: run "
            f"`anchorid jlis upgrade-keys --data DIR` (with {PASSPHRASE_SETTING} set) to move it into the key store"
        )
    keys = store()
    name = file_name.removesuffix(FILE_SUFFIX)
    try:
        keys.public_key(name)  # opens it now: a wrong passphrase is reported here, not at the first signature
    except KeyNotFound:
        if isinstance(keys, Pkcs11KeyStore):
            raise KeyStoreError(f"CA key {name} is missing from the PKCS#11 token {keys.token_label!r}") from None
        raise KeyStoreError(f"CA key file {file_name} is missing from {keys.directory}") from None
    except KeyUnreadable as error:
        if isinstance(keys, Pkcs11KeyStore):
            raise KeyStoreError(str(error)) from None
        raise KeyStoreError(f"CA key file {file_name} cannot be opened: wrong {PASSPHRASE_SETTING}?") from None
    except StoreError as error:
        raise KeyStoreError(str(error)) from None
    return _rsa_signer(keys, name)


def _rsa_signer(keys: EncryptedFileKeyStore | Pkcs11KeyStore, name: str) -> StoredRsaKeySigner:
    signer = stored_signer(keys, name)
    if not isinstance(signer, StoredRsaKeySigner):
        raise KeyStoreError(f"CA key {name} is not an RSA key")
    return signer


def check_keys_open() -> str | None:
    """Whether every key in the folder opens with the configured passphrase (the startup check asks this):
    None, or what is wrong."""
    problem = passphrase_problem()
    if problem:
        return problem
    if uses_token():
        try:
            keys = store()
            for name in keys.list():
                keys.public_key(name)
        except (KeyStoreError, StoreError) as error:
            return f"jlis's CA keys cannot be used: {error}"
        return None
    directory = conf.key_dir()
    if not directory.is_dir():
        return None
    legacy = sorted(path.name for path in directory.glob(f"*{LEGACY_SUFFIX}"))
    keys = store()
    for name in keys.list():
        try:
            keys.public_key(name)
        except StoreError:
            return f"the CA key {name} in {directory} does not open with {PASSPHRASE_SETTING}: wrong passphrase?"
    if legacy and _legacy_in_use(legacy):
        return (
            f"{directory} holds CA keys in the format of an earlier version ({', '.join(legacy)}): run "
            "`anchorid jlis upgrade-keys --data DIR` once to move them into the key store"
        )
    return None


def _legacy_in_use(names: list[str]) -> bool:
    """Whether the database still names any of these files (unused leftovers are no reason to refuse)."""
    from django.db import DatabaseError

    from anchorid.jlis.models import CertificateAuthority

    try:
        rows = CertificateAuthority.objects.values_list("key_file", "responder_key_file")
        used = {name for row in rows for name in row}
    except DatabaseError:  # not migrated yet: nothing can name them
        return False
    return bool(used & set(names))


# -- moving keys of earlier versions into the store --------------------------------------------------------------


def legacy_secret_key_passphrase() -> bytes:
    """The passphrase earlier versions derived from ``SECRET_KEY`` when ``ANCHORID_JLIS_CA_PASSPHRASE`` was unset.
    Used only to read such files once, in ``upgrade-keys --from-secret-key``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LEGACY_HKDF_INFO)
    return hkdf.derive(settings.SECRET_KEY.encode()).hex().encode()


def upgrade_legacy_key(file_name: str, old_passphrase: bytes) -> str:
    """Seal the ``.pem`` key ``file_name`` into the store under the configured passphrase; the new file name.
    The caller removes the old file (``remove_legacy_key``) once the database names the new one."""
    path = key_dir() / file_name
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=old_passphrase)
    except FileNotFoundError:
        raise KeyStoreError(f"CA key file {file_name} is missing from {path.parent}") from None
    except (ValueError, TypeError):
        raise KeyStoreError(f"CA key file {file_name} does not open with the old passphrase given") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyStoreError(f"CA key file {file_name} does not hold an RSA key")
    name = file_name.removesuffix(LEGACY_SUFFIX)
    keys = store()
    if not keys.has_key(name):  # an interrupted earlier upgrade may have sealed it already
        keys.import_key(name, key)
    del key
    return name + FILE_SUFFIX


def remove_legacy_key(file_name: str) -> None:
    (key_dir() / file_name).unlink(missing_ok=True)
