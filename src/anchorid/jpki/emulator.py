"""An emulated My Number Card: the JPKI AP and the 券面事項入力補助AP over ISO/IEC 7816-4 APDUs.

Behaviour follows jpki-reference.md §2; choices where the reference is UNCONFIRMED are listed in
docs/card.md. The state that outlives a power cycle (keys, certificates, PIN counters) lives in a
:class:`~anchorid.jpki.cardfile.CardFile`; the security status (which PINs were verified, which EF is
current) lives here and is lost on :meth:`JPKICardEmulator.reset` or on SELECT of another application.

Every byte string gets a status word. Malformed commands are refused by the parser (6700) or by the
dispatcher (6E00 class, 6D00 instruction, 6A86 parameters) before any state is touched.
"""

from __future__ import annotations

import enum
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from anchorid.jpki import apdu
from anchorid.jpki.apdu import CommandAPDU, MalformedApdu, ResponseAPDU
from anchorid.jpki.cardfile import (
    MAX_SIGN_INPUT_LENGTH,
    SIGNATURE_PIN_MAX_LENGTH,
    SIGNATURE_PIN_MIN_LENGTH,
    CardFile,
    KeySlot,
    PinReference,
)
from anchorid.jpki.errors import CardError, InvalidPinFormat

logger = logging.getLogger(__name__)

FILLER_BYTE = 0xFF  # files are padded after their object (§2.3); the filler value is UNCONFIRMED
FILE_ALLOCATION_UNIT = 256
CERTIFICATE_EF_SIZE = 0x0800  # physical size of a certificate EF: UNCONFIRMED, large enough for JPKI certs

# EF 0008 (§2.2): 8F 8F 00 when both certificates are present; a first byte other than 8F = no signature
# certificate. What stands in the other positions when absent is UNCONFIRMED: 00 here.
CERTIFICATE_PRESENT = 0x8F
CERTIFICATE_ABSENT = 0x00
CERTIFICATE_AVAILABILITY_TRAILER = 0x00

# EF 0006: a 160-byte PKCS#11 CK_TOKEN_INFO with 32-bit big-endian integers (§2.2).
CK_INFO_STRUCT = ">32s32s16s16s11I2s2s16s"
CK_INFO_LENGTH = 160
EMULATOR_MANUFACTURER_ID = "AnchorID card emulator"
EMULATOR_MODEL = "JPKI"
CKF_LOGIN_REQUIRED = 0x00000004
CKF_USER_PIN_INITIALIZED = 0x00000008
CKF_TOKEN_INITIALIZED = 0x00000400
CK_EFFECTIVELY_INFINITE = 0
CK_UNAVAILABLE_INFORMATION = 0xFFFFFFFF

# 券面事項入力補助AP (§2.6): BER-TLV tags of EF 0001 and EF 0002.
TAG_MY_NUMBER = 0xFF10
TAG_BASIC_FOUR = 0xFF20
TAG_BASIC_FOUR_OFFSETS = 0xDF21
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH_DATE = 0xDF24
TAG_GENDER = 0xDF25
MY_NUMBER_EF_SIZE = 17  # 15-byte TLV + FF FF filler, as on a card
BER_SHORT_LENGTH_LIMIT = 0x80
BER_LONG_LENGTH_1 = 0x81
BER_LONG_LENGTH_2 = 0x82


class Application(enum.Enum):
    JPKI = "JPKI AP"
    TEXT = "券面事項入力補助AP"


APPLICATION_AIDS = {apdu.JPKI_AID: Application.JPKI, apdu.TEXT_AP_AID: Application.TEXT}


class EfKind(enum.Enum):
    BINARY = "transparent EF"
    PIN = "PIN EF"
    KEY = "private key EF"


@dataclass(frozen=True, slots=True)
class ElementaryFile:
    """One EF of an application. ``pin`` guards a BINARY or KEY EF, or is the reference a PIN EF holds.

    ``content`` returns the padded bytes of a BINARY EF, or None when the card has no such file (a blank
    card's certificate EFs, EF 0001 of a card without a signature certificate).
    """

    fid: int
    kind: EfKind
    pin: PinReference | None = None
    slot: KeySlot | None = None
    content: Callable[[CardFile], bytes | None] | None = None


def _padded(data: bytes, minimum: int) -> bytes:
    allocated = max(minimum, -(-len(data) // FILE_ALLOCATION_UNIT) * FILE_ALLOCATION_UNIT)
    return data + bytes([FILLER_BYTE]) * (allocated - len(data))


def _certificate_file(slot: KeySlot, *, ca: bool) -> Callable[[CardFile], bytes | None]:
    def content(card: CardFile) -> bytes | None:
        der = card.ca_certificate_der(slot) if ca else card.certificate_der(slot)
        return None if der is None else _padded(der, CERTIFICATE_EF_SIZE)

    return content


def _fixed_width(text: str, width: int) -> bytes:
    """A blank-padded PKCS#11 string field."""
    return text.encode("ascii")[:width].ljust(width, b" ")


def token_info(card: CardFile) -> bytes:
    """EF 0006: CK_TOKEN_INFO whose label identifies a physical card; min/max PIN length 6/16 (§2.2)."""
    info = struct.pack(
        CK_INFO_STRUCT,
        _fixed_width(card.token_label, 32),
        _fixed_width(EMULATOR_MANUFACTURER_ID, 32),
        _fixed_width(EMULATOR_MODEL, 16),
        _fixed_width("", 16),
        CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED,
        CK_EFFECTIVELY_INFINITE,
        CK_UNAVAILABLE_INFORMATION,
        CK_EFFECTIVELY_INFINITE,
        CK_UNAVAILABLE_INFORMATION,
        SIGNATURE_PIN_MAX_LENGTH,
        SIGNATURE_PIN_MIN_LENGTH,
        CK_UNAVAILABLE_INFORMATION,
        CK_UNAVAILABLE_INFORMATION,
        CK_UNAVAILABLE_INFORMATION,
        CK_UNAVAILABLE_INFORMATION,
        b"\x01\x00",
        b"\x01\x00",
        b"\x00" * 16,
    )
    assert len(info) == CK_INFO_LENGTH
    return info


def certificate_availability(card: CardFile) -> bytes:
    """EF 0008: which certificates the card holds (§2.2)."""
    return bytes(
        (
            CERTIFICATE_PRESENT if card.certificate_der(KeySlot.SIGNATURE) else CERTIFICATE_ABSENT,
            CERTIFICATE_PRESENT if card.certificate_der(KeySlot.AUTHENTICATION) else CERTIFICATE_ABSENT,
            CERTIFICATE_AVAILABILITY_TRAILER,
        )
    )


def ber_tlv(tag: int, value: bytes) -> bytes:
    """A BER-TLV with a one- or two-byte tag and a definite length (short form, or 81/82 long form)."""
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    if len(value) < BER_SHORT_LENGTH_LIMIT:
        length = bytes((len(value),))
    elif len(value) <= 0xFF:
        length = bytes((BER_LONG_LENGTH_1, len(value)))
    else:
        length = bytes((BER_LONG_LENGTH_2,)) + len(value).to_bytes(2, "big")
    return tag_bytes + length + value


def text_my_number(card: CardFile) -> bytes | None:
    """券面事項入力補助AP EF 0001: ``FF10`` with the 12 ASCII digits, then filler (§2.6)."""
    if card.text_ap is None:
        return None
    return _padded(ber_tlv(TAG_MY_NUMBER, card.text_ap.my_number.encode("ascii")), 0)[:MY_NUMBER_EF_SIZE]


def text_basic_four(card: CardFile) -> bytes | None:
    """券面事項入力補助AP EF 0002: ``FF20`` { DF21 offsets, DF22 name, DF23 address, DF24 YYYYMMDD, DF25 sex }.

    DF21 holds the byte offset, from the start of the file, of each of the four fields (§2.6).
    """
    if card.text_ap is None:
        return None
    info = card.text_ap.info
    fields = [
        ber_tlv(TAG_NAME, info.name.encode()),
        ber_tlv(TAG_ADDRESS, info.address.encode()),
        ber_tlv(TAG_BIRTH_DATE, f"{info.birth_date:%Y%m%d}".encode("ascii")),
        ber_tlv(TAG_GENDER, info.gender.value.encode("ascii")),
    ]
    table_length = len(ber_tlv(TAG_BASIC_FOUR_OFFSETS, bytes(2 * len(fields))))
    body_length = table_length + sum(map(len, fields))
    header_length = len(ber_tlv(TAG_BASIC_FOUR, bytes(body_length))) - body_length
    offsets, position = bytearray(), header_length + table_length
    for encoded in fields:
        offsets += position.to_bytes(2, "big")
        position += len(encoded)
    body = ber_tlv(TAG_BASIC_FOUR_OFFSETS, bytes(offsets)) + b"".join(fields)
    return _padded(ber_tlv(TAG_BASIC_FOUR, body), 0)


def _files(*files: ElementaryFile) -> dict[int, ElementaryFile]:
    return {ef.fid: ef for ef in files}


FILES: dict[Application, dict[int, ElementaryFile]] = {
    Application.JPKI: _files(
        ElementaryFile(
            apdu.EF_SIGNATURE_CERTIFICATE,
            EfKind.BINARY,
            pin=PinReference.SIGNATURE,
            content=_certificate_file(KeySlot.SIGNATURE, ca=False),
        ),
        ElementaryFile(
            apdu.EF_SIGNATURE_CA_CERTIFICATE, EfKind.BINARY, content=_certificate_file(KeySlot.SIGNATURE, ca=True)
        ),
        ElementaryFile(apdu.EF_TOKEN_INFO, EfKind.BINARY, content=token_info),
        ElementaryFile(apdu.EF_CERTIFICATE_AVAILABILITY, EfKind.BINARY, content=certificate_availability),
        ElementaryFile(
            apdu.EF_AUTHENTICATION_CERTIFICATE,
            EfKind.BINARY,
            content=_certificate_file(KeySlot.AUTHENTICATION, ca=False),
        ),
        ElementaryFile(
            apdu.EF_AUTHENTICATION_CA_CERTIFICATE,
            EfKind.BINARY,
            content=_certificate_file(KeySlot.AUTHENTICATION, ca=True),
        ),
        ElementaryFile(
            apdu.EF_AUTHENTICATION_KEY, EfKind.KEY, pin=PinReference.AUTHENTICATION, slot=KeySlot.AUTHENTICATION
        ),
        ElementaryFile(apdu.EF_AUTHENTICATION_PIN, EfKind.PIN, pin=PinReference.AUTHENTICATION),
        ElementaryFile(apdu.EF_SIGNATURE_KEY, EfKind.KEY, pin=PinReference.SIGNATURE, slot=KeySlot.SIGNATURE),
        ElementaryFile(apdu.EF_SIGNATURE_PIN, EfKind.PIN, pin=PinReference.SIGNATURE),
    ),
    Application.TEXT: _files(
        ElementaryFile(apdu.EF_TEXT_MY_NUMBER, EfKind.BINARY, pin=PinReference.TEXT_AP, content=text_my_number),
        ElementaryFile(apdu.EF_TEXT_BASIC_FOUR, EfKind.BINARY, pin=PinReference.TEXT_AP, content=text_basic_four),
        ElementaryFile(apdu.EF_TEXT_PIN, EfKind.PIN, pin=PinReference.TEXT_AP),
    ),
}


@dataclass(slots=True)
class SecurityStatus:
    """What the card remembers until reset: the selected application, current EF, verified PINs."""

    application: Application | None = None
    current_ef: ElementaryFile | None = None
    verified: set[PinReference] = field(default_factory=set)


class _Refusal(Exception):
    """Internal: stop handling a command and answer ``sw``. Never escapes :meth:`JPKICardEmulator.transmit`."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


class JPKICardEmulator:
    """A virtual My Number Card. ``transmit`` takes a command APDU and returns response data + SW."""

    def __init__(self, card: CardFile) -> None:
        self.card = card
        self.status = SecurityStatus()
        self.internal_errors = 0  # commands answered 6F00 by the last-resort guard; tests keep it at 0
        self._mute = False

    @property
    def atr(self) -> bytes:
        return apdu.JPKI_CARD_ATR

    def reset(self) -> bytes:
        """A power cycle: the security status is lost; answer the ATR (§2.1)."""
        self.status = SecurityStatus()
        return apdu.JPKI_CARD_ATR

    def transmit(self, command: bytes) -> bytes:
        """Handle one command APDU; always returns at least a status word."""
        if self._mute:
            return ResponseAPDU(b"", apdu.SW_NO_PRECISE_DIAGNOSIS).to_bytes()
        try:
            return self._handle(bytes(command)).to_bytes()
        except Exception:
            # Last resort, for a fault outside the protocol (e.g. the card file cannot be written). The
            # in-memory state may now differ from the file: re-read the file, or go mute if that fails.
            self.internal_errors += 1
            logger.exception("card emulator fault; re-reading the card file")
            self.status = SecurityStatus()
            try:
                self.card.refresh()
            except (CardError, OSError):
                logger.exception("card file unreadable; the emulated card stops answering")
                self._mute = True
            return ResponseAPDU(b"", apdu.SW_NO_PRECISE_DIAGNOSIS).to_bytes()

    # -- dispatch -----------------------------------------------------------------------------------------

    def _handle(self, raw: bytes) -> ResponseAPDU:
        try:
            command = CommandAPDU.parse(raw)
        except MalformedApdu as exc:
            return ResponseAPDU(b"", exc.sw)
        try:
            return self._dispatch(command)
        except _Refusal as refusal:
            return ResponseAPDU(b"", refusal.sw)

    def _dispatch(self, command: CommandAPDU) -> ResponseAPDU:
        cla, ins = command.cla, command.ins
        if cla in apdu.CLA_SECURE_MESSAGING:
            raise _Refusal(apdu.SW_SECURE_MESSAGING_NOT_SUPPORTED)
        if cla == apdu.CLA_ISO:
            if ins == apdu.INS_SELECT:
                return self._select(command)
            if ins == apdu.INS_READ_BINARY:
                return self._read_binary(command)
            if ins == apdu.INS_VERIFY:
                return self._verify(command)
            if ins == apdu.INS_CHANGE_REFERENCE_DATA:
                return self._change_reference_data(command)
            raise _Refusal(apdu.SW_INS_NOT_SUPPORTED)
        if cla == apdu.CLA_PROPRIETARY:
            if ins == apdu.INS_COMPUTE_DIGITAL_SIGNATURE:
                return self._compute_digital_signature(command)
            raise _Refusal(apdu.SW_INS_NOT_SUPPORTED)
        raise _Refusal(apdu.SW_CLA_NOT_SUPPORTED)

    # -- SELECT (§2.1, §2.2) ------------------------------------------------------------------------------

    def _select(self, command: CommandAPDU) -> ResponseAPDU:
        if command.p1 == apdu.P1_SELECT_BY_DF_NAME:
            return self._select_application(command)
        if command.p1 == apdu.P1_SELECT_EF_UNDER_CURRENT_DF:
            return self._select_ef(command)
        # SELECT MF is unreliable on the real card (§2.1): refused here; reselect the AP instead.
        raise _Refusal(apdu.SW_INCORRECT_P1P2)

    def _select_application(self, command: CommandAPDU) -> ResponseAPDU:
        if command.p2 != apdu.P2_SELECT_NO_RESPONSE_DATA:
            raise _Refusal(apdu.SW_INCORRECT_P1P2)
        if not command.data:
            raise _Refusal(apdu.SW_WRONG_LENGTH)
        application = APPLICATION_AIDS.get(command.data)
        if application is None:
            raise _Refusal(apdu.SW_FILE_NOT_FOUND)
        if application is not self.status.application:
            self.status = SecurityStatus(application=application)
        else:
            self.status.current_ef = None
        return ResponseAPDU(b"", apdu.SW_OK)

    def _select_ef(self, command: CommandAPDU) -> ResponseAPDU:
        if command.p2 != apdu.P2_SELECT_NO_RESPONSE_DATA:
            raise _Refusal(apdu.SW_INCORRECT_P1P2)
        if len(command.data) != apdu.FID_LENGTH:
            raise _Refusal(apdu.SW_WRONG_LENGTH)
        ef = self._find(int.from_bytes(command.data, "big"))
        if ef is None:
            raise _Refusal(apdu.SW_FILE_NOT_FOUND)
        self.status.current_ef = ef
        return ResponseAPDU(b"", apdu.SW_OK)

    def _find(self, fid: int, kind: EfKind | None = None) -> ElementaryFile | None:
        """An EF of the selected application that exists on this card (and is of ``kind``, if given)."""
        if self.status.application is None:
            return None
        ef = FILES[self.status.application].get(fid)
        if ef is None or (kind is not None and ef.kind is not kind):
            return None
        if ef.content is not None and ef.content(self.card) is None:
            return None
        return ef

    def _short_ef(self, p2: int, kind: EfKind) -> ElementaryFile:
        """The EF a P2 of ``80`` (current EF) or ``80 | SFI`` names, for VERIFY / CHANGE / SIGN."""
        if p2 == apdu.P2_CURRENT_EF:
            ef = self.status.current_ef
            if ef is None:
                raise _Refusal(apdu.SW_NO_CURRENT_EF)
            if ef.kind is not kind:
                raise _Refusal(apdu.SW_FILE_INCOMPATIBLE)
            return ef
        sfi = p2 & apdu.SHORT_EF_MASK
        if p2 & ~apdu.SHORT_EF_MASK != apdu.P2_SHORT_EF_FLAG or not apdu.MIN_SHORT_EF <= sfi <= apdu.MAX_SHORT_EF:
            raise _Refusal(apdu.SW_INCORRECT_P1P2)
        named = self._find(sfi, kind)
        if named is None:
            raise _Refusal(apdu.SW_REFERENCED_DATA_NOT_FOUND)
        return named

    # -- READ BINARY (§2.3) -------------------------------------------------------------------------------

    def _read_binary(self, command: CommandAPDU) -> ResponseAPDU:
        if command.data or command.le is None:
            raise _Refusal(apdu.SW_WRONG_LENGTH)
        if command.p1 & apdu.P1_READ_BINARY_SHORT_EF:
            sfi = command.p1 & apdu.SHORT_EF_MASK
            if (
                command.p1 & apdu.READ_BINARY_SHORT_EF_RESERVED_BITS
                or not apdu.MIN_SHORT_EF <= sfi <= apdu.MAX_SHORT_EF
            ):
                raise _Refusal(apdu.SW_INCORRECT_P1P2)
            ef = self._find(sfi)
            if ef is None:
                raise _Refusal(apdu.SW_FILE_NOT_FOUND)
            offset = command.p2
        else:
            ef = self.status.current_ef
            if ef is None:
                raise _Refusal(apdu.SW_NO_CURRENT_EF)
            offset = command.p1 << 8 | command.p2
        if ef.kind is not EfKind.BINARY or ef.content is None:
            raise _Refusal(apdu.SW_FILE_INCOMPATIBLE)
        if ef.pin is not None and ef.pin not in self.status.verified:
            raise _Refusal(apdu.SW_SECURITY_STATUS_NOT_SATISFIED)
        content = ef.content(self.card)
        if content is None:
            raise _Refusal(apdu.SW_FILE_NOT_FOUND)
        self.status.current_ef = ef
        if offset >= len(content):
            raise _Refusal(apdu.SW_OFFSET_OUTSIDE_EF)
        chunk = content[offset : offset + command.le]
        return ResponseAPDU(chunk, apdu.SW_OK if len(chunk) == command.le else apdu.SW_END_OF_FILE_REACHED)

    # -- VERIFY, CHANGE REFERENCE DATA (§2.4) -------------------------------------------------------------

    def _verify(self, command: CommandAPDU) -> ResponseAPDU:
        if command.p1 != apdu.P1_VERIFY:
            raise _Refusal(apdu.SW_INCORRECT_P1P2)
        # A T=0-style empty VERIFY carries P3 = 00, which parses as Le = 256; anything else with Le is wrong.
        if command.le is not None and (command.data or command.le != apdu.SHORT_APDU_MAX_LE):
            raise _Refusal(apdu.SW_WRONG_LENGTH)
        ef = self._short_ef(command.p2, EfKind.PIN)
        assert ef.pin is not None
        reference = ef.pin
        self.card.refresh()  # the counter may have been reset at the city counter meanwhile
        if not self.card.pin_is_set(reference):
            raise _Refusal(apdu.SW_REFERENCED_DATA_NOT_FOUND)
        if not command.data:
            return ResponseAPDU(b"", apdu.sw_tries_left(self.card.pin_tries_left(reference)))
        if self.card.pin_is_blocked(reference):
            self.status.verified.discard(reference)
            raise _Refusal(apdu.SW_PIN_BLOCKED)
        if self.card.try_pin(reference, command.data):
            self.status.verified.add(reference)
            return ResponseAPDU(b"", apdu.SW_OK)
        self.status.verified.discard(reference)
        return ResponseAPDU(b"", apdu.sw_tries_left(self.card.pin_tries_left(reference)))

    def _change_reference_data(self, command: CommandAPDU) -> ResponseAPDU:
        if command.p1 != apdu.P1_CHANGE_REFERENCE_DATA or command.p2 != apdu.P2_CURRENT_EF:
            raise _Refusal(apdu.SW_INCORRECT_P1P2)
        if not command.data or command.le is not None:
            raise _Refusal(apdu.SW_WRONG_LENGTH)
        ef = self._short_ef(command.p2, EfKind.PIN)
        assert ef.pin is not None
        if ef.pin not in self.status.verified:
            raise _Refusal(apdu.SW_SECURITY_STATUS_NOT_SATISFIED)
        try:
            self.card.change_pin(ef.pin, command.data)
        except InvalidPinFormat:
            raise _Refusal(apdu.SW_WRONG_DATA) from None
        return ResponseAPDU(b"", apdu.SW_OK)

    # -- COMPUTE DIGITAL SIGNATURE (§2.5) -----------------------------------------------------------------

    def _compute_digital_signature(self, command: CommandAPDU) -> ResponseAPDU:
        if command.p1 != apdu.P1_SIGN_PKCS1_V1_5:
            raise _Refusal(apdu.SW_INCORRECT_P1P2)
        if not command.data or len(command.data) > MAX_SIGN_INPUT_LENGTH:
            raise _Refusal(apdu.SW_WRONG_LENGTH)
        ef = self._short_ef(command.p2, EfKind.KEY)
        assert ef.pin is not None
        assert ef.slot is not None
        if ef.pin not in self.status.verified:
            raise _Refusal(apdu.SW_SECURITY_STATUS_NOT_SATISFIED)
        return ResponseAPDU(self.card.sign_digest_info(ef.slot, command.data), apdu.SW_OK)


__all__ = ["Application", "ElementaryFile", "JPKICardEmulator", "SecurityStatus"]
