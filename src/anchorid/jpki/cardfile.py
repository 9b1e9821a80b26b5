"""The virtual My Number Card's persistent state: one JSON file per card.

What a real card keeps in its chip lives here: the two RSA-2048 key pairs generated "in the card"
(jpki-reference.md §2.2, EF 0017 / 001A), the certificates written at the counter (EF 0001 / 0002 /
000A / 000B), the PINs and their retry counters (EF 0018 / 001B, §2.4), and the 券面事項入力補助AP's
data (§2.6). The file is written atomically (temporary file + rename, mode 0600) and every change of a
retry counter is written before the card answers, so a blocked card stays blocked after a reload.
Every change is a read-modify-write under an exclusive lock (a ``.<name>.lock`` file next to the card):
the J-LIS counter and a running emulator may hold the same card, and neither may undo the other's write.

Private keys are usable only through :meth:`CardFile.sign_digest_info` (the card's COMPUTE DIGITAL
SIGNATURE); no method returns one. PIN values are kept as the card keeps them; the file holds the private
keys as well, so hashing the PINs would protect nothing: the file itself is the secret (mode 0600).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import enum
import fcntl
import hmac
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo

from anchorid.jpki.attributes import BasicFourInfo, Gender, InvalidAttribute
from anchorid.jpki.errors import CardFileCorrupt, CardNotPresent, InvalidPinFormat

CARD_FILE_FORMAT = "anchorid-jpki-card/1"
FILE_MODE = 0o600

RSA_KEY_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537
# PKCS#1 v1.5 type-1 padding needs at least 11 bytes of a 256-byte modulus (RFC 8017 §9.2): 245 left.
MAX_SIGN_INPUT_LENGTH = RSA_KEY_BITS // 8 - 11

# EF 0006 label of a physical card (§2.2); Android and iPhone carry other labels.
TOKEN_LABEL_PHYSICAL_CARD = "JPKIAPICCTOKEN2"  # noqa: S105 -- a label, not a secret

SIGNATURE_PIN_MAX_TRIES = 5
AUTHENTICATION_PIN_MAX_TRIES = 3
TEXT_AP_PIN_MAX_TRIES = 3
SIGNATURE_PIN_MIN_LENGTH = 6
SIGNATURE_PIN_MAX_LENGTH = 16
SIGNATURE_PIN_PATTERN = re.compile(r"[A-Z0-9]{6,16}")
FOUR_DIGIT_PIN_PATTERN = re.compile(r"[0-9]{4}")
MY_NUMBER_PATTERN = re.compile(r"[0-9]{12}")


class KeySlot(enum.Enum):
    """The two key pairs of the JPKI AP (§2.2): 署名用 (EF 001A) and 利用者証明用 (EF 0017)."""

    SIGNATURE = "signature"
    AUTHENTICATION = "authentication"


class PinReference(enum.Enum):
    """The PINs the card checks: 署名用パスワード (EF 001B), 利用者証明用PIN (EF 0018), text AP PIN (EF 0011)."""

    SIGNATURE = "signature"
    AUTHENTICATION = "authentication"
    TEXT_AP = "text_ap"

    @classmethod
    def of_slot(cls, slot: KeySlot) -> PinReference:
        return cls.SIGNATURE if slot is KeySlot.SIGNATURE else cls.AUTHENTICATION

    @property
    def max_tries(self) -> int:
        return _MAX_TRIES[self]


_MAX_TRIES = {
    PinReference.SIGNATURE: SIGNATURE_PIN_MAX_TRIES,
    PinReference.AUTHENTICATION: AUTHENTICATION_PIN_MAX_TRIES,
    PinReference.TEXT_AP: TEXT_AP_PIN_MAX_TRIES,
}


def check_pin_format(reference: PinReference, pin: str) -> str:
    """The PIN as the card stores it, or :class:`InvalidPinFormat` naming the rule (§2.4).

    The signature password is stored uppercase (clients uppercase input, as myna does); it must be 6-16
    characters of A-Z and 0-9. The user-authentication PIN and the text AP PIN are exactly 4 digits.
    """
    if reference is PinReference.SIGNATURE:
        stored = pin.upper()
        if not SIGNATURE_PIN_PATTERN.fullmatch(stored) or not stored.isascii():
            raise InvalidPinFormat(
                f"the signature password must be {SIGNATURE_PIN_MIN_LENGTH}-{SIGNATURE_PIN_MAX_LENGTH} "
                "characters of A-Z and 0-9"
            )
        return stored
    if not FOUR_DIGIT_PIN_PATTERN.fullmatch(pin) or not pin.isascii():
        raise InvalidPinFormat(f"the {reference.value.replace('_', ' ')} PIN must be exactly 4 digits")
    return pin


@dataclass(slots=True)
class _KeyState:
    private_key_pem: bytes
    public_key_pem: bytes
    certificate_der: bytes | None = None
    ca_certificate_der: bytes | None = None
    private_key: rsa.RSAPrivateKey | None = None  # loaded on first use only: parsing is slow


@dataclass(slots=True)
class _PinState:
    value: str | None
    tries_left: int


@dataclass(frozen=True, slots=True)
class TextApData:
    """What the 券面事項入力補助AP holds (§2.6): the 12-digit My Number and the four basic attributes."""

    my_number: str
    info: BasicFourInfo


def _generate_key() -> _KeyState:
    key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    return _KeyState(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        public_key_pem=key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        private_key=key,
    )


def _public_der(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class CardFile:
    """One virtual card. Build a blank one with :meth:`manufacture`, open one with :meth:`load`."""

    path: Path

    def __init__(
        self,
        path: Path,
        keys: dict[KeySlot, _KeyState],
        pins: dict[PinReference, _PinState],
        text_ap: TextApData | None,
        token_label: str,
    ) -> None:
        self.path = path
        self._keys = keys
        self._pins = pins
        self._text_ap = text_ap
        self.token_label = token_label

    # -- life cycle -------------------------------------------------------------------------------------

    @classmethod
    def manufacture(cls, path: Path) -> CardFile:
        """A blank card: a fresh RSA-2048 key pair per slot generated "in the card", no certificates, no PINs."""
        card = cls(
            Path(path),
            keys={slot: _generate_key() for slot in KeySlot},
            pins={ref: _PinState(value=None, tries_left=ref.max_tries) for ref in PinReference},
            text_ap=None,
            token_label=TOKEN_LABEL_PHYSICAL_CARD,
        )
        card.save()
        return card

    @classmethod
    def load(cls, path: Path) -> CardFile:
        """Open a card file; :class:`CardNotPresent` if there is none, :class:`CardFileCorrupt` if unreadable."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise CardNotPresent(f"no card file at {path}") from None
        except IsADirectoryError:
            raise CardNotPresent(f"{path} is a directory, not a card file") from None
        try:
            return cls._from_json(path, json.loads(raw))
        except (ValueError, KeyError, TypeError, InvalidAttribute) as exc:
            raise CardFileCorrupt(f"{path} is not a readable card file: {exc}") from None

    def save(self) -> None:
        """Write the whole state atomically: a 0600 temporary file in the same folder, fsync, rename."""
        # Compact on purpose: json's C encoder only runs without indent, and every VERIFY saves the file.
        data = json.dumps(self._to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    # -- the counter (J-LIS side) -------------------------------------------------------------------------

    def public_key(self, slot: KeySlot) -> rsa.RSAPublicKey:
        key = serialization.load_pem_public_key(self._keys[slot].public_key_pem)
        assert isinstance(key, rsa.RSAPublicKey)
        return key

    def regenerate_key(self, slot: KeySlot) -> rsa.RSAPublicKey:
        """Counter re-issue: a new key pair in the card; the slot's old certificate no longer fits and goes."""
        new_key = _generate_key()
        with self._exclusive():
            new_key.ca_certificate_der = self._keys[slot].ca_certificate_der
            self._keys[slot] = new_key
            self.save()
        return self.public_key(slot)

    def personalize(
        self,
        *,
        signature_certificate: x509.Certificate | None,
        signature_ca: x509.Certificate,
        authentication_certificate: x509.Certificate,
        authentication_ca: x509.Certificate,
        signature_pin: str,
        authentication_pin: str,
    ) -> None:
        """Write the certificates and set both JPKI PINs (counters full).

        ``signature_certificate=None`` issues no signature certificate (under-15s, adult wards; §1.2):
        EF 0008 then says so. Each certificate must carry the public key of its slot.
        """
        stored_signature_pin = check_pin_format(PinReference.SIGNATURE, signature_pin)
        stored_authentication_pin = check_pin_format(PinReference.AUTHENTICATION, authentication_pin)
        with self._exclusive():
            if signature_certificate is not None:
                self._check_certificate_fits(KeySlot.SIGNATURE, signature_certificate)
            self._check_certificate_fits(KeySlot.AUTHENTICATION, authentication_certificate)
            signature = self._keys[KeySlot.SIGNATURE]
            signature.certificate_der = _der(signature_certificate) if signature_certificate is not None else None
            signature.ca_certificate_der = _der(signature_ca)
            authentication = self._keys[KeySlot.AUTHENTICATION]
            authentication.certificate_der = _der(authentication_certificate)
            authentication.ca_certificate_der = _der(authentication_ca)
            self._pins[PinReference.SIGNATURE] = _PinState(stored_signature_pin, SIGNATURE_PIN_MAX_TRIES)
            self._pins[PinReference.AUTHENTICATION] = _PinState(stored_authentication_pin, AUTHENTICATION_PIN_MAX_TRIES)
            self.save()

    def install_signature_certificate(self, certificate: x509.Certificate) -> None:
        """A new signature certificate for the current key (after a move: the next counter visit)."""
        with self._exclusive():
            self._check_certificate_fits(KeySlot.SIGNATURE, certificate)
            self._keys[KeySlot.SIGNATURE].certificate_der = _der(certificate)
            self.save()

    def personalize_text_ap(self, *, my_number: str, info: BasicFourInfo, pin: str) -> None:
        """券面事項入力補助AP: EF 0001 My Number, EF 0002 the four basic attributes, a 4-digit PIN (3 tries)."""
        if not MY_NUMBER_PATTERN.fullmatch(my_number) or not my_number.isascii():
            raise ValueError("a My Number is exactly 12 digits")
        stored_pin = check_pin_format(PinReference.TEXT_AP, pin)
        with self._exclusive():
            self._text_ap = TextApData(my_number=my_number, info=info)
            self._pins[PinReference.TEXT_AP] = _PinState(stored_pin, TEXT_AP_PIN_MAX_TRIES)
            self.save()

    def reset_pin(self, slot: KeySlot, new_pin: str) -> None:
        """Counter PIN reset: a new value and the counter back to its maximum."""
        self.reset_pin_reference(PinReference.of_slot(slot), new_pin)

    def reset_pin_reference(self, reference: PinReference, new_pin: str) -> None:
        """Like :meth:`reset_pin`, for any PIN including the text AP's."""
        stored = check_pin_format(reference, new_pin)
        with self._exclusive():
            self._pins[reference] = _PinState(stored, reference.max_tries)
            self.save()

    def refresh(self) -> None:
        """Re-read the file, picking up changes another process made (the counter, another emulator)."""
        current = CardFile.load(self.path)
        for slot, state in current._keys.items():
            mine = self._keys[slot]
            if state.private_key_pem == mine.private_key_pem:
                state.private_key = mine.private_key
        self._keys, self._pins, self._text_ap = current._keys, current._pins, current._text_ap
        self.token_label = current.token_label

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the card's lock, with the state re-read from the file, for one read-modify-write."""
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self.path.exists():
                self.refresh()
            yield
        finally:
            os.close(fd)

    def _check_certificate_fits(self, slot: KeySlot, certificate: x509.Certificate) -> None:
        if _public_der_of(certificate) != _public_der(self.public_key(slot)):
            raise ValueError(f"the certificate does not carry the card's {slot.value} public key")

    # -- what the card's applications read ----------------------------------------------------------------

    def certificate_der(self, slot: KeySlot) -> bytes | None:
        return self._keys[slot].certificate_der

    def ca_certificate_der(self, slot: KeySlot) -> bytes | None:
        return self._keys[slot].ca_certificate_der

    def certificate(self, slot: KeySlot) -> x509.Certificate | None:
        der = self.certificate_der(slot)
        return x509.load_der_x509_certificate(der) if der is not None else None

    @property
    def text_ap(self) -> TextApData | None:
        return self._text_ap

    def pin_is_set(self, reference: PinReference) -> bool:
        return self._pins[reference].value is not None

    def pin_tries_left(self, reference: PinReference) -> int:
        return self._pins[reference].tries_left

    def pin_is_blocked(self, reference: PinReference) -> bool:
        return self._pins[reference].tries_left == 0

    def try_pin(self, reference: PinReference, candidate: bytes) -> bool:
        """Compare a presented PIN, keeping the retry counter in the file (§2.4).

        The counter is decremented and written *before* the comparison (as a chip does, so pulling the
        card mid-command cannot yield a free try), and restored to its maximum on a match. The caller
        answers 6984 for a blocked PIN without calling this.
        """
        with self._exclusive():
            state = self._pins[reference]
            if state.value is None or state.tries_left == 0:
                return False
            state.tries_left -= 1
            self.save()
            if hmac.compare_digest(candidate, state.value.encode()):
                state.tries_left = reference.max_tries
                self.save()
                return True
            return False

    def change_pin(self, reference: PinReference, new_pin: bytes) -> None:
        """CHANGE REFERENCE DATA after a successful VERIFY; :class:`InvalidPinFormat` if it breaks the rules.

        The card compares bytes and does not uppercase: a lowercase new signature password is refused.
        """
        try:
            text = new_pin.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidPinFormat("a PIN is ASCII") from None
        if check_pin_format(reference, text) != text:
            raise InvalidPinFormat("the signature password is stored in uppercase")
        with self._exclusive():
            self._pins[reference] = _PinState(text, reference.max_tries)
            self.save()

    def sign_digest_info(self, slot: KeySlot, data: bytes) -> bytes:
        """The card's signature: PKCS#1 v1.5 type-1 padding over ``data`` as given (a DigestInfo), §2.5."""
        if not 0 < len(data) <= MAX_SIGN_INPUT_LENGTH:
            raise ValueError(f"the card signs 1-{MAX_SIGN_INPUT_LENGTH} bytes")
        state = self._keys[slot]
        if state.private_key is None:
            key = serialization.load_pem_private_key(state.private_key_pem, password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            state.private_key = key
        return state.private_key.sign(data, padding.PKCS1v15(), NoDigestInfo())

    # -- serialisation ------------------------------------------------------------------------------------

    def _to_json(self) -> dict[str, Any]:
        return {
            "format": CARD_FILE_FORMAT,
            "token_label": self.token_label,
            "keys": {
                slot.value: {
                    "private_key": state.private_key_pem.decode(),
                    "public_key": state.public_key_pem.decode(),
                    "certificate": _b64(state.certificate_der),
                    "ca_certificate": _b64(state.ca_certificate_der),
                }
                for slot, state in self._keys.items()
            },
            "pins": {ref.value: {"value": pin.value, "tries_left": pin.tries_left} for ref, pin in self._pins.items()},
            "text_ap": None if self._text_ap is None else _text_ap_to_json(self._text_ap),
        }

    @classmethod
    def _from_json(cls, path: Path, data: Any) -> CardFile:
        if not isinstance(data, dict) or data.get("format") != CARD_FILE_FORMAT:
            raise ValueError(f"format is not {CARD_FILE_FORMAT}")
        keys = {}
        for slot in KeySlot:
            entry = data["keys"][slot.value]
            keys[slot] = _KeyState(
                private_key_pem=_text(entry["private_key"]).encode(),
                public_key_pem=_text(entry["public_key"]).encode(),
                certificate_der=_unb64(entry["certificate"]),
                ca_certificate_der=_unb64(entry["ca_certificate"]),
            )
        pins = {}
        for ref in PinReference:
            entry = data["pins"][ref.value]
            value, tries = entry["value"], entry["tries_left"]
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{ref.value} PIN is not text")
            if not isinstance(tries, int) or isinstance(tries, bool) or not 0 <= tries <= ref.max_tries:
                raise ValueError(f"{ref.value} PIN counter {tries!r} is outside 0-{ref.max_tries}")
            pins[ref] = _PinState(value, tries)
        text_ap = None if data["text_ap"] is None else _text_ap_from_json(data["text_ap"])
        return cls(path, keys, pins, text_ap, _text(data["token_label"]))


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _public_der_of(certificate: x509.Certificate) -> bytes:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("a JPKI certificate carries an RSA key")
    return _public_der(key)


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode()


def _unb64(value: Any) -> bytes | None:
    return None if value is None else base64.b64decode(_text(value), validate=True)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _text_ap_to_json(data: TextApData) -> dict[str, Any]:
    info = data.info
    return {
        "my_number": data.my_number,
        "name": info.name,
        "name_substitutes": info.name_substitutes,
        "birth_date": info.birth_date.isoformat(),
        "gender": info.gender.value,
        "address": info.address,
        "address_substitutes": info.address_substitutes,
    }


def _text_ap_from_json(data: Any) -> TextApData:
    info = BasicFourInfo(
        name=_text(data["name"]),
        birth_date=datetime.date.fromisoformat(_text(data["birth_date"])),
        gender=Gender(data["gender"]),
        address=_text(data["address"]),
        name_substitutes=_text(data["name_substitutes"]),
        address_substitutes=_text(data["address_substitutes"]),
    )
    return TextApData(my_number=_text(data["my_number"]), info=info)


__all__ = [
    "CardFile",
    "KeySlot",
    "PinReference",
    "TextApData",
    "check_pin_format",
]
