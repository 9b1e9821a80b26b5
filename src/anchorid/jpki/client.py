"""``JPKICard``: the card client. Reads certificates, checks and verifies PINs, signs, and reads the four
basic attributes from the 券面事項入力補助AP, over any :class:`~anchorid.jpki.transport.Transport`.

The command sequences are those of jpki-reference.md §2: SELECT the AP by AID, SELECT the EF, then READ
BINARY (§2.3), VERIFY (§2.4) or COMPUTE DIGITAL SIGNATURE (§2.5). The same code drives a real My Number
Card in a PC/SC reader and the emulator. PINs are sent to the card and nowhere else: never logged,
never part of an exception message.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from anchorid.jpki import apdu
from anchorid.jpki.apdu import CommandAPDU, ResponseAPDU
from anchorid.jpki.attributes import BasicFourInfo, Gender, InvalidAttribute
from anchorid.jpki.cardfile import KeySlot, PinReference, check_pin_format
from anchorid.jpki.errors import (
    CardError,
    CertificateNotPresent,
    PinBlocked,
    PinNotSet,
    UnexpectedStatus,
    WrongPin,
)
from anchorid.jpki.transport import Transport

# RFC 8017 §9.2 note 1: the DER prefix of a SHA-256 DigestInfo; the card adds only the type-1 padding.
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

DER_SEQUENCE = 0x30
BER_LONG_FORM = 0x80
BER_MAX_LENGTH_BYTES = 3
BER_TAG_MULTIBYTE = 0x1F
BER_TAG_MORE = 0x80
DER_HEADER_PROBE = 2 + BER_MAX_LENGTH_BYTES
READ_CHUNK = apdu.SHORT_APDU_MAX_LE

TOKEN_LABEL_LENGTH = 32
CERTIFICATE_AVAILABILITY_LENGTH = 3
CERTIFICATE_PRESENT = 0x8F

# EF 0002 of the text AP (§2.6)
TAG_BASIC_FOUR = 0xFF20
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH_DATE = 0xDF24
TAG_GENDER = 0xDF25
FILLER_BYTES = (0x00, 0xFF)
# The text AP's sex code set is UNCONFIRMED (§2.6): 1/2/3 as in the certificate; JIS X 0303 0 and 9 read
# as unknown.
JIS_X0303_UNKNOWN = ("0", "9")

KEY_EF = {KeySlot.SIGNATURE: apdu.EF_SIGNATURE_KEY, KeySlot.AUTHENTICATION: apdu.EF_AUTHENTICATION_KEY}
PIN_EF = {
    PinReference.SIGNATURE: apdu.EF_SIGNATURE_PIN,
    PinReference.AUTHENTICATION: apdu.EF_AUTHENTICATION_PIN,
    PinReference.TEXT_AP: apdu.EF_TEXT_PIN,
}
PIN_APPLICATION = {
    PinReference.SIGNATURE: apdu.JPKI_AID,
    PinReference.AUTHENTICATION: apdu.JPKI_AID,
    PinReference.TEXT_AP: apdu.TEXT_AP_AID,
}
CA_CERTIFICATE_EF = {
    KeySlot.SIGNATURE: apdu.EF_SIGNATURE_CA_CERTIFICATE,
    KeySlot.AUTHENTICATION: apdu.EF_AUTHENTICATION_CA_CERTIFICATE,
}


@dataclass(frozen=True, slots=True)
class CardStatus:
    """What a card says about itself without any PIN."""

    token_label: str
    has_signature_certificate: bool
    signature_pin_tries_left: int | None  # None: no PIN set (a blank, unpersonalised card)
    authentication_pin_tries_left: int | None


@dataclass(frozen=True, slots=True)
class BerHeader:
    tag: int
    header_length: int
    value_length: int

    @property
    def total_length(self) -> int:
        return self.header_length + self.value_length


def parse_ber_header(data: bytes) -> BerHeader:
    """Tag and definite length of the BER object at the start of ``data`` (short, 81, 82 or 83 form)."""
    if not data:
        raise CardError("empty BER object")
    position = 1
    tag = data[0]
    if tag & BER_TAG_MULTIBYTE == BER_TAG_MULTIBYTE:
        while True:
            if position >= len(data):
                raise CardError("truncated BER tag")
            tag = tag << 8 | data[position]
            position += 1
            if not data[position - 1] & BER_TAG_MORE:
                break
    if position >= len(data):
        raise CardError("BER object has no length")
    first = data[position]
    position += 1
    if first < BER_LONG_FORM:
        return BerHeader(tag, position, first)
    count = first & ~BER_LONG_FORM
    if not 1 <= count <= BER_MAX_LENGTH_BYTES or position + count > len(data):
        raise CardError("unsupported BER length")
    return BerHeader(tag, position + count, int.from_bytes(data[position : position + count], "big"))


class JPKICard:
    """A My Number Card behind a transport. Use as a context manager to close the transport."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- certificates (§2.2, §2.3) ------------------------------------------------------------------------

    def read_signature_certificate(self, pin: str) -> x509.Certificate:
        """署名用証明書 (EF 0001): readable only after VERIFY of the signature password."""
        self._verify(PinReference.SIGNATURE, pin)
        return self._read_certificate(apdu.EF_SIGNATURE_CERTIFICATE)

    def read_auth_certificate(self) -> x509.Certificate:
        """利用者証明用証明書 (EF 000A): free to read on the plastic card."""
        self._select_application(apdu.JPKI_AID)
        return self._read_certificate(apdu.EF_AUTHENTICATION_CERTIFICATE)

    def read_ca_certificate(self, kind: KeySlot) -> x509.Certificate:
        """The CA certificate the card carries for one of its two certificates (EF 0002 / 000B)."""
        self._select_application(apdu.JPKI_AID)
        return self._read_certificate(CA_CERTIFICATE_EF[kind])

    def _read_certificate(self, fid: int) -> x509.Certificate:
        self._select_ef(fid, missing=CertificateNotPresent(f"the card holds no certificate in EF {fid:04X}"))
        der = self._read_ber_object()
        try:
            return x509.load_der_x509_certificate(der)
        except ValueError:
            raise CardError(f"EF {fid:04X} does not hold a DER certificate") from None

    def _read_ber_object(self) -> bytes:
        """Read the current EF's object: its header says how long it is; the padding after it is skipped."""
        head = self._read_binary(0, DER_HEADER_PROBE)
        header = parse_ber_header(head)
        total = header.total_length
        if total > apdu.MAX_READ_BINARY_OFFSET:
            raise CardError("object longer than READ BINARY can address")
        data = bytearray(head[:total])
        while len(data) < total:
            data += self._read_binary(len(data), min(READ_CHUNK, total - len(data)))
        return bytes(data)

    # -- PINs (§2.4) --------------------------------------------------------------------------------------

    def signature_pin_tries_left(self) -> int:
        return self._tries_left(PinReference.SIGNATURE)

    def auth_pin_tries_left(self) -> int:
        return self._tries_left(PinReference.AUTHENTICATION)

    def text_ap_pin_tries_left(self) -> int:
        return self._tries_left(PinReference.TEXT_AP)

    def verify_signature_pin(self, pin: str) -> None:
        """VERIFY the signature password: :class:`WrongPin` with tries left, or :class:`PinBlocked`."""
        self._verify(PinReference.SIGNATURE, pin)

    def verify_auth_pin(self, pin: str) -> None:
        self._verify(PinReference.AUTHENTICATION, pin)

    def _tries_left(self, reference: PinReference) -> int:
        """An empty VERIFY answers 63Cx without spending a try (63C0 when blocked)."""
        self._select_application(PIN_APPLICATION[reference])
        self._select_ef(PIN_EF[reference])
        response = self._send(apdu.verify(b""))
        if apdu.is_verify_failed(response.sw):
            return apdu.tries_left_of(response.sw)
        if response.sw == apdu.SW_PIN_BLOCKED:
            return 0
        if response.sw == apdu.SW_OK:  # already verified in this session: the counter is full
            return reference.max_tries
        if response.sw == apdu.SW_REFERENCED_DATA_NOT_FOUND:
            raise PinNotSet(f"the card has no {reference.value.replace('_', ' ')} PIN (not personalised)")
        raise UnexpectedStatus(response.sw, "asking the PIN's tries left")

    def _verify(self, reference: PinReference, pin: str) -> None:
        # The card compares bytes; the signature password is stored uppercase (§2.4). A PIN that breaks
        # the rules cannot be right: refuse it here rather than spend one of the card's tries.
        stored = check_pin_format(reference, pin)
        self._select_application(PIN_APPLICATION[reference])
        self._select_ef(PIN_EF[reference])
        response = self._send(apdu.verify(stored.encode("ascii")))
        if response.sw == apdu.SW_OK:
            return
        if response.sw == apdu.SW_PIN_BLOCKED:
            raise PinBlocked()
        if response.sw == apdu.SW_REFERENCED_DATA_NOT_FOUND:
            raise PinNotSet(f"the card has no {reference.value.replace('_', ' ')} PIN (not personalised)")
        if apdu.is_verify_failed(response.sw):
            tries_left = apdu.tries_left_of(response.sw)
            if tries_left == 0:
                raise PinBlocked()
            raise WrongPin(tries_left)
        raise UnexpectedStatus(response.sw, "VERIFY")

    # -- signing (§2.5) -----------------------------------------------------------------------------------

    def sign(self, data: bytes, *, pin: str, key: KeySlot = KeySlot.SIGNATURE) -> bytes:
        """Sign ``data`` with a card key: SHA-256, DigestInfo, PKCS#1 v1.5 in the card (sha256WithRSA)."""
        digest = hashes.Hash(hashes.SHA256())
        digest.update(data)
        return self.sign_digest_info(SHA256_DIGEST_INFO_PREFIX + digest.finalize(), pin=pin, key=key)

    def sign_digest_info(self, digest_info: bytes, *, pin: str, key: KeySlot = KeySlot.SIGNATURE) -> bytes:
        """COMPUTE DIGITAL SIGNATURE over a DER DigestInfo the caller built."""
        self._verify(PinReference.of_slot(key), pin)
        self._select_ef(KEY_EF[key])
        response = self._send(apdu.compute_digital_signature(digest_info))
        if response.sw != apdu.SW_OK:
            raise UnexpectedStatus(response.sw, "COMPUTE DIGITAL SIGNATURE")
        return response.data

    # -- 券面事項入力補助AP (§2.6) --------------------------------------------------------------------------

    def read_basic_four(self, pin: str) -> BasicFourInfo:
        """The four basic attributes as the card's text AP holds them (EF 0002), after its 4-digit PIN.

        The text AP has no substitute-character maps: the result says "no substitutes".
        """
        self._verify(PinReference.TEXT_AP, pin)
        self._select_ef(apdu.EF_TEXT_BASIC_FOUR)
        return parse_basic_four(self._read_ber_object())

    # -- status -------------------------------------------------------------------------------------------

    def status(self) -> CardStatus:
        """Token label (EF 0006), whether a signature certificate is present (EF 0008), tries left."""
        self._select_application(apdu.JPKI_AID)
        self._select_ef(apdu.EF_TOKEN_INFO)
        label = self._read_binary(0, TOKEN_LABEL_LENGTH).rstrip(b" \x00").decode("ascii", "replace")
        self._select_ef(apdu.EF_CERTIFICATE_AVAILABILITY)
        availability = self._read_binary(0, CERTIFICATE_AVAILABILITY_LENGTH)
        return CardStatus(
            token_label=label,
            has_signature_certificate=availability[:1] == bytes((CERTIFICATE_PRESENT,)),
            signature_pin_tries_left=self._tries_left_if_set(PinReference.SIGNATURE),
            authentication_pin_tries_left=self._tries_left_if_set(PinReference.AUTHENTICATION),
        )

    def _tries_left_if_set(self, reference: PinReference) -> int | None:
        try:
            return self._tries_left(reference)
        except PinNotSet:
            return None

    # -- APDU plumbing ------------------------------------------------------------------------------------

    def _send(self, command: CommandAPDU) -> ResponseAPDU:
        raw = self.transport.transmit(command.to_bytes())
        try:
            return ResponseAPDU.parse(raw)
        except ValueError:
            raise CardError("the card answered without a status word") from None

    def _select_application(self, aid: bytes) -> None:
        response = self._send(apdu.select_aid(aid))
        if response.sw == apdu.SW_FILE_NOT_FOUND:
            raise CardError(f"the card has no application {aid.hex().upper()}: is it a My Number Card?")
        if response.sw != apdu.SW_OK:
            raise UnexpectedStatus(response.sw, "SELECT application")

    def _select_ef(self, fid: int, missing: CardError | None = None) -> None:
        response = self._send(apdu.select_ef(fid))
        if response.sw == apdu.SW_FILE_NOT_FOUND and missing is not None:
            raise missing
        if response.sw != apdu.SW_OK:
            raise UnexpectedStatus(response.sw, f"SELECT EF {fid:04X}")

    def _read_binary(self, offset: int, length: int) -> bytes:
        response = self._send(apdu.read_binary(offset, length))
        if response.sw not in (apdu.SW_OK, apdu.SW_END_OF_FILE_REACHED):
            raise UnexpectedStatus(response.sw, f"READ BINARY at {offset}")
        return response.data


def parse_basic_four(raw: bytes) -> BasicFourInfo:
    """Parse EF 0002 of the text AP: ``FF20`` { DF21 offsets, DF22 name, DF23 address, DF24, DF25 } (§2.6)."""
    outer = parse_ber_header(raw)
    if outer.tag != TAG_BASIC_FOUR or outer.total_length > len(raw):
        raise CardError("EF 0002 is not a basic-four record (FF20)")
    body = raw[outer.header_length : outer.total_length]
    fields: dict[int, bytes] = {}
    while body and body[0] not in FILLER_BYTES:
        header = parse_ber_header(body)
        if header.total_length > len(body):
            raise CardError("a basic-four field runs past the record")
        fields[header.tag] = body[header.header_length : header.total_length]
        body = body[header.total_length :]
    try:
        name = fields[TAG_NAME].decode()
        address = fields[TAG_ADDRESS].decode()
        birth_date = datetime.datetime.strptime(fields[TAG_BIRTH_DATE].decode("ascii"), "%Y%m%d").date()
        code = fields[TAG_GENDER].decode("ascii")
        gender = Gender.UNKNOWN if code in JIS_X0303_UNKNOWN else Gender(code)
        return BasicFourInfo.plain(name, birth_date, gender, address)
    except KeyError as exc:
        raise CardError(f"the basic-four record lacks field {exc.args[0]:04X}") from None
    except (ValueError, InvalidAttribute) as exc:
        raise CardError(f"the basic-four record is malformed: {exc}") from None


__all__ = ["SHA256_DIGEST_INFO_PREFIX", "CardStatus", "JPKICard", "parse_basic_four"]
