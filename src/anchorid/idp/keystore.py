"""The platform's private keys behind one interface: ``KeyStore``. Private keys never leave a store.

Callers name a key and ask the store to sign; no method returns a private key object. The encrypted-file
backend (``EncryptedFileKeyStore``) is the embedded default; ``Pkcs11KeyStore`` (``anchorid.idp.pkcs11_keystore``)
implements the same Protocol in a hardware security module, chosen with ``ANCHORID_KEYSTORE=pkcs11``.
``signer(name)`` adapts a stored key to cryptography's private-key
interface (for ``CertificateBuilder.sign`` and friends) while the key stays inside. See docs/keystore.md.

Signature algorithm names are JOSE's (RFC 7518 §3.1) but ES256 signatures come back DER-encoded
(``Ecdsa-Sig-Value``, as X.509, CMS and OCSP want): convert with ``decode_dss_signature`` for JWS.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import json
import os
import re
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, get_args

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KeyAlgorithm = Literal["EC-P256", "RSA-2048"]
SignatureAlgorithm = Literal["ES256", "RS256", "PS256"]
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

KEY_ALGORITHMS: tuple[KeyAlgorithm, ...] = get_args(KeyAlgorithm)
SIGNATURE_ALGORITHMS: dict[SignatureAlgorithm, KeyAlgorithm] = {
    "ES256": "EC-P256",
    "RS256": "RSA-2048",
    "PS256": "RSA-2048",
}
KEY_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
RSA_PUBLIC_EXPONENT = 65537
MIN_PASSPHRASE_LENGTH = 12

FILE_FORMAT = "anchorid-keystore-v1"
FILE_SUFFIX = ".key.json"
# scrypt (RFC 7914) cost: 2^15 x 8 x 128 B = 32 MiB and ~0.1 s per unlock; the file records what it used.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAX_N = 2**20  # refuse files asking for more (a denial of service, not a key)
AES_KEY_SIZE = 32
NONCE_SIZE = 12
SALT_SIZE = 16


class KeyStoreError(Exception):
    """Something about a stored key went wrong; the message says what (never any key material)."""


class KeyNotFound(KeyStoreError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no key named {name!r} in the key store")
        self.name = name


class KeyExists(KeyStoreError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a key named {name!r} already exists; keys are never overwritten")
        self.name = name


class KeyUnreadable(KeyStoreError):
    """The key file could not be decrypted: wrong passphrase, or the file was altered."""


class KeyNotExportable(KeyStoreError):
    """A caller asked a ``signer`` for private key material, which stays in the store."""


class KeyStoreNotConfigured(KeyStoreError):
    """No passphrase was configured (``ANCHORID_KEYSTORE_PASSPHRASE``)."""


class KeyStore(Protocol):
    """Named signing keys. Implementations keep private keys inside and sign on the caller's behalf."""

    def create_key(self, name: str, algorithm: KeyAlgorithm) -> PublicKey:
        """Generate and store a new key; refuse if ``name`` exists. Returns its public key."""
        ...

    def sign(self, name: str, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        """Sign ``data`` (the whole message, hashed inside) with key ``name``."""
        ...

    def public_key(self, name: str) -> PublicKey: ...

    def has_key(self, name: str) -> bool: ...

    def list(self) -> builtins.list[str]:
        """The names of the stored keys, sorted."""
        ...


class KeyImporter(Protocol):
    """A store that takes keys made elsewhere (``EncryptedFileKeyStore``, ``Pkcs11KeyStore``)."""

    def import_key(self, name: str, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> PublicKey: ...


def key_id(public_key: PublicKey) -> str:
    """A key's identifier: hex SHA-256 of its DER SubjectPublicKeyInfo (as RFC 6962 §3.2 names a log's key)."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def check_key_name(name: str) -> str:
    """Key names are file names too: lowercase letters, digits and ``._-``, at most 64."""
    if not KEY_NAME.fullmatch(name):
        raise KeyStoreError(f"invalid key name {name!r}: use 1-64 of a-z 0-9 . _ - (starting with a letter or digit)")
    return name


def sign_with(private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, data: bytes, algorithm: str) -> bytes:
    """Sign with a loaded key inside a backend. Not for callers outside key stores."""
    if algorithm == "ES256":
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
            raise KeyStoreError("ES256 needs an EC-P256 key")
        return private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    if algorithm in ("RS256", "PS256"):
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise KeyStoreError(f"{algorithm} needs an RSA key")
        if algorithm == "RS256":
            return private_key.sign(data, asym_padding.PKCS1v15(), hashes.SHA256())
        # RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
        pss = asym_padding.PSS(mgf=asym_padding.MGF1(hashes.SHA256()), salt_length=asym_padding.PSS.DIGEST_LENGTH)
        return private_key.sign(data, pss, hashes.SHA256())
    raise KeyStoreError(f"unsupported signature algorithm {algorithm!r}; use one of {', '.join(SIGNATURE_ALGORITHMS)}")


def _generate(algorithm: KeyAlgorithm) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if algorithm == "EC-P256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RSA-2048":
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=2048)
    raise KeyStoreError(f"unsupported key algorithm {algorithm!r}; use one of {', '.join(KEY_ALGORITHMS)}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise KeyUnreadable("malformed key file")
    return base64.b64decode(text, validate=True)


class EncryptedFileKeyStore:
    """One file per key in ``directory`` (mode 0600): PKCS#8 DER sealed with AES-256-GCM under a scrypt key.

    The file is JSON: a header (format, name, algorithm, public key, scrypt parameters and salt) that is
    bound to the ciphertext as GCM associated data, so renaming a file or swapping its public key makes it
    fail to open. Loaded keys are cached in this object for its lifetime.
    """

    def __init__(self, directory: Path | str, passphrase: str | bytes, *, scrypt_n: int = SCRYPT_N) -> None:
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        if len(passphrase) < MIN_PASSPHRASE_LENGTH:
            raise KeyStoreNotConfigured(f"the key store passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters")
        self.directory = Path(directory)
        self._passphrase = passphrase
        self._scrypt_n = scrypt_n
        self._loaded: dict[str, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EncryptedFileKeyStore({str(self.directory)!r})"

    # -- the KeyStore Protocol

    def create_key(self, name: str, algorithm: KeyAlgorithm) -> PublicKey:
        check_key_name(name)
        if algorithm not in KEY_ALGORITHMS:
            raise KeyStoreError(f"unsupported key algorithm {algorithm!r}; use one of {', '.join(KEY_ALGORITHMS)}")
        return self._seal(name, algorithm, _generate(algorithm))

    def sign(self, name: str, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        return sign_with(self._load(name), data, algorithm)

    def public_key(self, name: str) -> PublicKey:
        return self._load(name).public_key()

    def has_key(self, name: str) -> bool:
        return self._path(name).exists()

    def list(self) -> builtins.list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name.removesuffix(FILE_SUFFIX) for p in self.directory.glob(f"*{FILE_SUFFIX}"))

    # -- beyond the Protocol

    def import_key(self, name: str, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> PublicKey:
        """Seal a key made elsewhere under ``name`` (moving keys from an older format into the store, as jlis's
        ``upgrade-keys`` does); refuse if ``name`` exists. The caller drops its own reference afterwards."""
        check_key_name(name)
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.name == "secp256r1":
            return self._seal(name, "EC-P256", private_key)
        if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == 2048:
            return self._seal(name, "RSA-2048", private_key)
        raise KeyStoreError(f"unsupported key for {name!r}; the store holds {', '.join(KEY_ALGORITHMS)} keys")

    def copy_into(self, name: str, target: KeyImporter) -> PublicKey:
        """Put key ``name`` into ``target`` under the same name (``keys migrate``: into an HSM, as a
        non-extractable object). The private key goes from this store straight to ``target.import_key``; it is
        returned to no caller. Returns the public key as this store knows it."""
        private_key = self._load(name)
        target.import_key(name, private_key)
        return private_key.public_key()

    def remove(self, name: str) -> None:
        """Delete the file of key ``name`` (after ``keys migrate --remove-files`` checked its copy) and forget it.
        The bytes may survive on the disk (journals, SSD wear-levelling): the file was only ever ciphertext."""
        path = self._path(name)
        if not path.exists():
            raise KeyNotFound(name)
        path.unlink()
        with self._lock:
            self._loaded.pop(name, None)

    def _seal(
        self, name: str, algorithm: KeyAlgorithm, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ) -> PublicKey:
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        salt = secrets.token_bytes(SALT_SIZE)
        header: dict[str, Any] = {
            "format": FILE_FORMAT,
            "name": name,
            "algorithm": algorithm,
            "public_key": _b64(
                private_key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ),
            "kdf": {"name": "scrypt", "salt": _b64(salt), "n": self._scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P},
            "cipher": "AES-256-GCM",
        }
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = AESGCM(self._derive(header["kdf"])).encrypt(nonce, der, _aad(header))
        document = {**header, "nonce": _b64(nonce), "ciphertext": _b64(sealed)}
        self._write_new(name, json.dumps(document, indent=1).encode("utf-8"))
        with self._lock:
            self._loaded[name] = private_key
        return private_key.public_key()

    def signer(self, name: str) -> StoredEcKeySigner | StoredRsaKeySigner:
        """A cryptography private-key look-alike that signs through this store (see ``StoredEcKeySigner``)."""
        return stored_signer(self, name)

    # -- internals

    def _path(self, name: str) -> Path:
        return self.directory / f"{check_key_name(name)}{FILE_SUFFIX}"

    def _derive(self, kdf: dict[str, Any]) -> bytes:
        n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
        if kdf.get("name") != "scrypt" or not all(isinstance(v, int) for v in (n, r, p)):
            raise KeyUnreadable("unsupported key derivation in key file")
        assert isinstance(n, int)
        assert isinstance(r, int)
        assert isinstance(p, int)
        if not 2 <= n <= SCRYPT_MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
            raise KeyUnreadable("key file asks for out-of-range scrypt parameters")
        return Scrypt(salt=_unb64(kdf.get("salt")), length=AES_KEY_SIZE, n=n, r=r, p=p).derive(self._passphrase)

    def _write_new(self, name: str, content: bytes) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self._path(name)
        temporary = self.directory / f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(temporary, final)  # atomic, and fails if the name is taken: keys are never overwritten
            except FileExistsError:
                raise KeyExists(name) from None
        finally:
            temporary.unlink(missing_ok=True)

    def _load(self, name: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
        with self._lock:
            cached = self._loaded.get(name)
        if cached is not None:
            return cached
        path = self._path(name)
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise KeyNotFound(name) from None
        except ValueError:
            raise KeyUnreadable(f"key file for {name!r} is not valid JSON") from None
        private_key = self._open(name, document)
        with self._lock:
            self._loaded[name] = private_key
        return private_key

    def _open(self, name: str, document: Any) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise KeyUnreadable(f"key file for {name!r} is not an {FILE_FORMAT} file")
        header = {k: document.get(k) for k in ("format", "name", "algorithm", "public_key", "kdf", "cipher")}
        if header["name"] != name or header["cipher"] != "AES-256-GCM" or not isinstance(header["kdf"], dict):
            raise KeyUnreadable(f"key file for {name!r} has a wrong name or cipher")
        try:
            der = AESGCM(self._derive(header["kdf"])).decrypt(
                _unb64(document.get("nonce")), _unb64(document.get("ciphertext")), _aad(header)
            )
        except (InvalidTag, ValueError):
            raise KeyUnreadable(f"cannot open key {name!r}: wrong passphrase, or the key file was altered") from None
        private_key = serialization.load_der_private_key(der, password=None)
        if not isinstance(private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise KeyUnreadable(f"key {name!r} is of an unsupported type")
        return private_key


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


class StoredEcKeySigner(ec.EllipticCurvePrivateKey):
    """An ``EllipticCurvePrivateKey`` whose ``sign`` asks the store; the key material never comes out.

    cryptography's builders (certificates, CRLs, OCSP responses) call ``sign`` on whatever key object
    they are given, so this lets the platform CA sign with a stored key. The tradeoff: the object is a
    signing oracle for that key — whoever holds it can sign anything with it, just as whoever holds the
    store can. Hand it only to the code that needs it, for as long as it needs it. Only SHA-256 (ES256)
    is allowed; everything that would reveal the private key raises ``KeyNotExportable``.
    """

    def __init__(self, store: KeyStore, name: str, public_key: ec.EllipticCurvePublicKey) -> None:
        self._store = store
        self._name = name
        self._public_key = public_key

    def __repr__(self) -> str:
        return f"<StoredEcKeySigner {self._name!r}>"

    def sign(
        self, data: bytes | bytearray | memoryview, signature_algorithm: ec.EllipticCurveSignatureAlgorithm
    ) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(
            signature_algorithm.algorithm, hashes.SHA256
        ):
            raise KeyStoreError("stored EC keys sign with ECDSA over SHA-256 (ES256) only")
        return self._store.sign(self._name, bytes(data), "ES256")

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public_key

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public_key.curve

    @property
    def key_size(self) -> int:
        return self._public_key.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise KeyNotExportable("stored keys are for signing only")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise KeyNotExportable("private keys never leave the key store")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise KeyNotExportable("private keys never leave the key store")

    def __copy__(self) -> StoredEcKeySigner:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> StoredEcKeySigner:
        return self


class StoredRsaKeySigner(rsa.RSAPrivateKey):
    """The RSA twin of ``StoredEcKeySigner``: PKCS#1 v1.5 (RS256) or PSS with a digest-length salt (PS256)."""

    def __init__(self, store: KeyStore, name: str, public_key: rsa.RSAPublicKey) -> None:
        self._store = store
        self._name = name
        self._public_key = public_key

    def __repr__(self) -> str:
        return f"<StoredRsaKeySigner {self._name!r}>"

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        padding: asym_padding.AsymmetricPadding,
        algorithm: Any,
    ) -> bytes:
        if not isinstance(algorithm, hashes.SHA256):
            raise KeyStoreError("stored RSA keys sign over SHA-256 only")
        if isinstance(padding, asym_padding.PKCS1v15):
            return self._store.sign(self._name, bytes(data), "RS256")
        if isinstance(padding, asym_padding.PSS) and padding._salt_length in (
            asym_padding.PSS.DIGEST_LENGTH,
            hashes.SHA256.digest_size,
        ):
            return self._store.sign(self._name, bytes(data), "PS256")
        raise KeyStoreError("stored RSA keys sign with PKCS#1 v1.5 or PSS (salt = digest length) only")

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public_key

    @property
    def key_size(self) -> int:
        return self._public_key.key_size

    def decrypt(self, ciphertext: bytes, padding: asym_padding.AsymmetricPadding) -> bytes:
        raise KeyNotExportable("stored keys are for signing only")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise KeyNotExportable("private keys never leave the key store")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise KeyNotExportable("private keys never leave the key store")

    def __copy__(self) -> StoredRsaKeySigner:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> StoredRsaKeySigner:
        return self


def stored_signer(store: KeyStore, name: str) -> StoredEcKeySigner | StoredRsaKeySigner:
    """A cryptography private-key look-alike for key ``name`` of any KeyStore: signing goes to the store."""
    public_key = store.public_key(name)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return StoredEcKeySigner(store, name, public_key)
    return StoredRsaKeySigner(store, name, public_key)


if TYPE_CHECKING:
    from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore

    #: What the settings can configure: both have ``signer`` and ``import_key`` beside the Protocol.
    ConfiguredKeyStore: TypeAlias = EncryptedFileKeyStore | Pkcs11KeyStore

BACKENDS = ("file", "pkcs11")

_shared_stores: dict[tuple[str, ...], ConfiguredKeyStore] = {}
_shared_lock = threading.Lock()


def configuration_marker() -> tuple[str, ...]:
    """What identifies the configured store (the PIN or passphrase only as a digest): a cache key."""
    from anchorid.idp import conf

    backend = conf.keystore_backend()
    if backend == "pkcs11":
        secret = conf.pkcs11_pin() or ""
        place: tuple[str, ...] = (conf.pkcs11_module(), conf.pkcs11_token_label())
    else:
        secret = conf.keystore_passphrase() or ""
        place = (str(conf.keystore_dir()),)
    digest = _secret_digests.get(secret)
    if digest is None:  # every token signed asks (shared_keystore_from_settings): one hash per secret, not per call
        if len(_secret_digests) > 8:
            _secret_digests.clear()
        digest = _secret_digests[secret] = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    return (backend, *place, digest)


_secret_digests: dict[str, str] = {}


def shared_keystore_from_settings() -> ConfiguredKeyStore:
    """The platform's key store, one object per process (per folder and passphrase), for hot paths.

    ``keystore_from_settings`` makes a fresh store, which unlocks (scrypt, ~0.1 s) each key again on first use.
    Servers that sign on every request (the OpenID Provider's tokens) use this one: each key is unlocked once per
    process and the private key object stays inside this store object, never handed out.
    """
    cache_key = configuration_marker()
    with _shared_lock:
        store = _shared_stores.get(cache_key)
        if store is None:
            store = _shared_stores[cache_key] = keystore_from_settings()
        return store


def keystore_from_settings() -> ConfiguredKeyStore:
    """The platform's key store: ``ANCHORID_KEYSTORE=pkcs11`` is the token named by ``ANCHORID_PKCS11_MODULE``,
    ``ANCHORID_PKCS11_TOKEN_LABEL`` and ``ANCHORID_PKCS11_PIN``; otherwise (``file``, the default) the folder
    ``ANCHORID_KEYSTORE_DIR`` under ``ANCHORID_KEYSTORE_PASSPHRASE``."""
    from anchorid.idp import conf

    backend = conf.keystore_backend()
    if backend == "pkcs11":
        from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore

        return Pkcs11KeyStore(conf.pkcs11_module(), conf.pkcs11_token_label(), conf.pkcs11_pin() or "")
    if backend != "file":
        raise KeyStoreNotConfigured(f"ANCHORID_KEYSTORE must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return file_keystore_from_settings()


def file_keystore_from_settings() -> EncryptedFileKeyStore:
    """The encrypted-file store of ``ANCHORID_KEYSTORE_DIR`` under ``ANCHORID_KEYSTORE_PASSPHRASE`` (what
    ``keys migrate`` reads from, whichever backend is configured)."""
    from anchorid.idp import conf

    passphrase = conf.keystore_passphrase()
    if not passphrase:
        raise KeyStoreNotConfigured(
            "set ANCHORID_KEYSTORE_PASSPHRASE (at least 12 characters) to unlock the platform's keys"
        )
    return EncryptedFileKeyStore(conf.keystore_dir(), passphrase)
