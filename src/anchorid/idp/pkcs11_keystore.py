"""The KeyStore in a hardware security module: ``Pkcs11KeyStore``, through PKCS#11 (``python-pkcs11``).

The same code drives SoftHSM2 (tests, trials) and a real HSM: only the module path, the token label and the PIN
differ (``ANCHORID_KEYSTORE=pkcs11``, ``ANCHORID_PKCS11_MODULE``, ``ANCHORID_PKCS11_TOKEN_LABEL``,
``ANCHORID_PKCS11_PIN``; docs/keystore.md). Keys are token objects named by ``CKA_LABEL`` (= the KeyStore name,
``CKA_ID`` = the name's bytes, which links the private and public objects). New keys are generated inside the
token, private objects ``CKA_SENSITIVE`` and not ``CKA_EXTRACTABLE``; the token signs, and the public key is
read from the token's public-key object. No method reads or returns private key material, and the token would
refuse if one did.

How signatures are asked for follows pyHanko's PKCS#11 signer (``pyhanko.sign.pkcs11``):
- ES256: the message is hashed here (SHA-256) and the token signs the digest with raw ``CKM_ECDSA`` (most HSMs,
  and SoftHSM2, do not offer ``CKM_ECDSA_SHA256``); its ``r || s`` comes back DER-encoded like every KeyStore's.
- RS256: ``CKM_SHA256_RSA_PKCS``; PS256: ``CKM_SHA256_RSA_PKCS_PSS`` with MGF1-SHA-256 and a 32-byte salt.

One PKCS#11 session per token and process, shared by every store object on that token, behind a lock (a session
must not run two operations at once, and PKCS#11 login state belongs to the process, not to a session). A
session the module has dropped (a reinitialised library, an HSM fail-over) is reopened once; after ``fork`` the
child initialises the library again.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from anchorid.idp.keystore import (
    KEY_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    KeyAlgorithm,
    KeyExists,
    KeyNotFound,
    KeyStoreError,
    KeyStoreNotConfigured,
    KeyUnreadable,
    PublicKey,
    SignatureAlgorithm,
    StoredEcKeySigner,
    StoredRsaKeySigner,
    check_key_name,
    stored_signer,
)

if TYPE_CHECKING:
    import pkcs11

T = TypeVar("T")

P256_OID = "1.2.840.10045.3.1.7"
RSA_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537
PSS_SALT_BYTES = 32
P256_SIGNATURE_BYTES = 64


class Pkcs11Unavailable(KeyStoreNotConfigured):
    """The module, the token or the binding is missing: the message names what and the setting to fix."""


class _Token:
    """One logged-in session per (module, token label) in this process, and the key handles found on it."""

    def __init__(self, module: str, label: str) -> None:
        self.module = module
        self.label = label
        self.lock = threading.RLock()
        self._session: pkcs11.Session | None = None
        self._pin_digest: bytes | None = None
        self._pid = os.getpid()
        self.handles: dict[str, tuple[Any, PublicKey]] = {}

    def session(self, pin: str, prefix: str) -> pkcs11.Session:
        """The open session, logged in with ``pin`` (the caller holds ``lock``); errors name ``prefix``'s settings."""
        import pkcs11
        from pkcs11 import exceptions as errors

        library = _library(self.module, prefix)
        if os.getpid() != self._pid:  # a forked child: PKCS#11 wants C_Initialize again, and no inherited session
            self._pid = os.getpid()
            self._session = None
            library.reinitialize()
        digest = hashlib.sha256(pin.encode("utf-8")).digest()
        if self._session is not None and self._pin_digest == digest:
            return self._session
        self.drop()  # a different PIN: log in afresh (closing the only session logs the process out)
        try:
            token = library.get_token(token_label=self.label)
        except errors.NoSuchToken:
            raise Pkcs11Unavailable(
                f"no PKCS#11 token labelled {self.label!r} in {self.module} ({prefix}TOKEN_LABEL)"
            ) from None
        except errors.MultipleTokensReturned:
            raise Pkcs11Unavailable(
                f"more than one PKCS#11 token is labelled {self.label!r} in {self.module}"
            ) from None
        try:
            session: pkcs11.Session = token.open(rw=True, user_pin=pin)
        except errors.UserAlreadyLoggedIn:  # another user of the module in this process logged in to this token
            session = token.open(rw=True)
        except errors.PinIncorrect:
            raise KeyUnreadable(
                f"the PKCS#11 token {self.label!r} refused the PIN: wrong {prefix}PIN"
                " (each wrong try counts towards the token's lock-out)"
            ) from None
        except errors.PinLocked:
            raise KeyUnreadable(
                f"the user PIN of the PKCS#11 token {self.label!r} is locked: its security officer must reset it"
            ) from None
        except (errors.PinExpired, errors.UserPinNotInitialized):
            raise KeyUnreadable(
                f"the PKCS#11 token {self.label!r} has no usable user PIN (expired or never set): set one first"
            ) from None
        except (errors.PinLenRange, errors.PinInvalid):
            raise KeyUnreadable(
                f"the PKCS#11 token {self.label!r} refused the PIN as malformed: check {prefix}PIN"
            ) from None
        except pkcs11.PKCS11Error as error:
            raise KeyUnreadable(f"cannot open the PKCS#11 token {self.label!r}: {type(error).__name__}") from None
        self._session, self._pin_digest = session, digest
        return session

    def drop(self) -> None:
        """Forget the session and the handles found on it (closing what can still be closed)."""
        import pkcs11

        session, self._session, self._pin_digest = self._session, None, None
        self.handles.clear()
        if session is not None:
            with contextlib.suppress(pkcs11.PKCS11Error):  # already gone with the library or the device
                session.close()


_tokens: dict[tuple[str, str], _Token] = {}
_tokens_lock = threading.Lock()


def _library(module: str, prefix: str = "ANCHORID_PKCS11_") -> Any:
    try:
        import pkcs11
    except ImportError:
        raise Pkcs11Unavailable(
            "ANCHORID_KEYSTORE=pkcs11 needs python-pkcs11: install AnchorID with the `hsm` extra (anchorid[hsm])"
        ) from None
    try:
        return pkcs11.lib(module)
    except pkcs11.PKCS11Error:
        raise Pkcs11Unavailable(
            f"cannot load the PKCS#11 module {module!r} ({prefix}MODULE): not a PKCS#11 library"
        ) from None


def _token(module: str, label: str) -> _Token:
    with _tokens_lock:
        found = _tokens.get((module, label))
        if found is None:
            found = _tokens[(module, label)] = _Token(module, label)
        return found


def _dropped_session_errors() -> tuple[type[Exception], ...]:
    from pkcs11 import exceptions as errors

    return (
        errors.SessionHandleInvalid,
        errors.SessionClosed,
        errors.DeviceRemoved,
        errors.TokenNotPresent,
        errors.UserNotLoggedIn,
        errors.ObjectHandleInvalid,
        errors.KeyHandleInvalid,
    )


class Pkcs11KeyStore:
    """Named signing keys in a PKCS#11 token; see the module docstring. Thread-safe."""

    def __init__(self, module: str, token_label: str, pin: str, *, setting_prefix: str = "ANCHORID_PKCS11_") -> None:
        """``setting_prefix`` names the settings in messages (jlis has its own: ``ANCHORID_JLIS_PKCS11_``)."""
        if not module:
            raise Pkcs11Unavailable(f"set {setting_prefix}MODULE to the PKCS#11 module (.so) of the HSM")
        if not token_label:
            raise Pkcs11Unavailable(f"set {setting_prefix}TOKEN_LABEL to the label of the token that holds the keys")
        if not pin:
            raise Pkcs11Unavailable(f"set {setting_prefix}PIN to the token's user PIN")
        self._prefix = setting_prefix
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self._token = _token(module, token_label)

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({self.module!r}, {self.token_label!r})"

    # -- the KeyStore Protocol

    def create_key(self, name: str, algorithm: KeyAlgorithm) -> PublicKey:
        check_key_name(name)
        if algorithm not in KEY_ALGORITHMS:
            raise KeyStoreError(f"unsupported key algorithm {algorithm!r}; use one of {', '.join(KEY_ALGORITHMS)}")
        return self._run(lambda session: self._generate(session, name, algorithm))

    def sign(self, name: str, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        if algorithm not in SIGNATURE_ALGORITHMS:
            raise KeyStoreError(
                f"unsupported signature algorithm {algorithm!r}; use one of {', '.join(SIGNATURE_ALGORITHMS)}"
            )
        return self._run(lambda session: self._sign(session, name, bytes(data), algorithm))

    def public_key(self, name: str) -> PublicKey:
        return self._run(lambda session: self._find(session, name)[1])

    def has_key(self, name: str) -> bool:
        check_key_name(name)
        return bool(self._run(lambda session: self._private_objects(session, name)))

    def list(self) -> builtins.list[str]:
        from pkcs11 import Attribute, ObjectClass

        def labels(session: pkcs11.Session) -> builtins.list[str]:
            found = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.TOKEN: True})
            return sorted({str(item[Attribute.LABEL]) for item in found})

        return self._run(labels)

    # -- beyond the Protocol

    def import_key(self, name: str, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> PublicKey:
        """Put a key made elsewhere into the token as a sensitive, non-extractable object (what ``keys migrate``
        does to keep key ids and certificates valid); refuse if ``name`` exists. The token then marks it
        ``CKA_ALWAYS_SENSITIVE``/``CKA_NEVER_EXTRACTABLE`` false: it was once outside. The caller drops its own
        reference afterwards."""
        check_key_name(name)
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.name == "secp256r1":
            return self._run(lambda session: self._import(session, name, private_key))
        if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == RSA_BITS:
            return self._run(lambda session: self._import(session, name, private_key))
        raise KeyStoreError(f"unsupported key for {name!r}; the store holds {', '.join(KEY_ALGORITHMS)} keys")

    def signer(self, name: str) -> StoredEcKeySigner | StoredRsaKeySigner:
        """A cryptography private-key look-alike that signs through the token (see ``StoredEcKeySigner``)."""
        return stored_signer(self, name)

    def check_login(self) -> None:
        """Open the token and log in now (the startup check): raises with what is wrong."""
        self._run(lambda session: None)

    # -- internals

    def _run(self, operation: Callable[[pkcs11.Session], T]) -> T:
        """Run ``operation(session)`` under the token's lock; reopen a session the module dropped, once."""
        import pkcs11

        with self._token.lock:
            try:
                return operation(self._token.session(self._pin, self._prefix))
            except _dropped_session_errors():
                self._token.drop()
            try:
                return operation(self._token.session(self._pin, self._prefix))
            except pkcs11.PKCS11Error as error:
                raise KeyStoreError(f"the PKCS#11 token {self.token_label!r} failed: {type(error).__name__}") from None

    def _private_objects(self, session: pkcs11.Session, name: str) -> builtins.list[Any]:
        from pkcs11 import Attribute, ObjectClass

        query = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: name, Attribute.TOKEN: True}
        return list(session.get_objects(query))

    def _find(self, session: pkcs11.Session, name: str) -> tuple[Any, PublicKey]:
        """The private key object and the public key of ``name`` (cached per session)."""
        from pkcs11 import Attribute, ObjectClass

        check_key_name(name)
        cached = self._token.handles.get(name)
        if cached is not None:
            return cached
        private = self._private_objects(session, name)
        if not private:
            raise KeyNotFound(name)
        if len(private) > 1:
            raise KeyUnreadable(
                f"the PKCS#11 token holds {len(private)} private keys labelled {name!r}; remove all but one"
            )
        query = {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.LABEL: name, Attribute.TOKEN: True}
        public = list(session.get_objects(query))
        if len(public) != 1:
            raise KeyUnreadable(f"the PKCS#11 token has no single public key object labelled {name!r} beside its key")
        found = (private[0], _public_key(public[0]))
        self._token.handles[name] = found
        return found

    def _sign(self, session: pkcs11.Session, name: str, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        from pkcs11 import MGF, Mechanism

        private, public_key = self._find(session, name)
        if algorithm == "ES256":
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
                raise KeyStoreError("ES256 needs an EC-P256 key")
            digest = hashlib.sha256(data).digest()
            raw = bytes(private.sign(digest, mechanism=Mechanism.ECDSA))
            if len(raw) != P256_SIGNATURE_BYTES:
                raise KeyStoreError(f"the PKCS#11 token returned a {len(raw)}-byte ECDSA signature")
            half = P256_SIGNATURE_BYTES // 2
            return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise KeyStoreError(f"{algorithm} needs an RSA key")
        if algorithm == "RS256":
            return bytes(private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
        # RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
        parameters = (Mechanism.SHA256, MGF.SHA256, PSS_SALT_BYTES)
        return bytes(private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=parameters))

    def _generate(self, session: pkcs11.Session, name: str, algorithm: KeyAlgorithm) -> PublicKey:
        from pkcs11 import Attribute, KeyType, MechanismFlag
        from pkcs11.util.ec import encode_named_curve_parameters

        if self._private_objects(session, name):
            raise KeyExists(name)
        public_template: dict[Attribute, Any] = _public_template()
        if algorithm == "EC-P256":
            key_type, length = KeyType.EC, None
            public_template[Attribute.EC_PARAMS] = encode_named_curve_parameters(P256_OID)
        else:
            key_type, length = KeyType.RSA, RSA_BITS
            public_template[Attribute.PUBLIC_EXPONENT] = RSA_PUBLIC_EXPONENT.to_bytes(3, "big")
        public, _private = session.generate_keypair(
            key_type,
            length,
            id=name.encode("ascii"),
            label=name,
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            public_template=public_template,
            private_template=_private_template(),
        )
        return _public_key(public)

    def _import(
        self, session: pkcs11.Session, name: str, private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ) -> PublicKey:
        from pkcs11 import Attribute
        from pkcs11.util.ec import decode_ec_private_key, decode_ec_public_key
        from pkcs11.util.rsa import decode_rsa_private_key, decode_rsa_public_key

        if self._private_objects(session, name):
            raise KeyExists(name)
        public_key = private_key.public_key()
        spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            secret = decode_ec_private_key(_private_der(private_key))
            public = decode_ec_public_key(spki)
        else:
            secret = decode_rsa_private_key(_private_der(private_key))
            pkcs1 = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
            public = decode_rsa_public_key(pkcs1)
        naming = {Attribute.ID: name.encode("ascii"), Attribute.LABEL: name, Attribute.TOKEN: True}
        created = session.create_object({**secret, **naming, **_private_template()})
        try:
            session.create_object({**public, **naming, **_public_template()})
        except Exception:
            created.destroy()
            raise
        del secret
        return public_key


def _private_der(private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    """SEC 1 ECPrivateKey / PKCS#1 RSAPrivateKey: what python-pkcs11's decoders read."""
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def _public_key(public: Any) -> PublicKey:
    """The cryptography public key of a token's public-key object (read from the token, never derived here)."""
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_ec_public_key

    if public[Attribute.KEY_TYPE] == KeyType.EC:
        loaded = serialization.load_der_public_key(encode_ec_public_key(public))
        if isinstance(loaded, ec.EllipticCurvePublicKey) and loaded.curve.name == "secp256r1":
            return loaded
    elif public[Attribute.KEY_TYPE] == KeyType.RSA:
        modulus = int.from_bytes(public[Attribute.MODULUS], "big")
        exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    raise KeyUnreadable("the PKCS#11 token holds a key of an unsupported type under a KeyStore name")


def _private_template() -> dict[Any, Any]:
    """A signing-only private key that never leaves the token."""
    from pkcs11 import Attribute

    return {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.SIGN: True,
        Attribute.DECRYPT: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    }


def _public_template() -> dict[Any, Any]:
    from pkcs11 import Attribute

    return {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: False,
        Attribute.VERIFY: True,
        Attribute.ENCRYPT: False,
        Attribute.WRAP: False,
    }
