"""ISO/IEC 7816-4 short APDUs and the JPKI card's protocol values (jpki-reference.md §2).

Every protocol byte the card client and the emulator use is named here: status words, instruction
bytes, application identifiers (AIDs) and file identifiers (FIDs). Parsing never raises anything but
:class:`MalformedApdu`, which carries the status word a card answers for that malformation.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- status words (ISO/IEC 7816-4 §5.1.3; JICSAP meaning of 6984, jpki-reference.md §2.4) ---------------
SW_OK = 0x9000
SW_END_OF_FILE_REACHED = 0x6282  # fewer bytes than Le were left in the EF (data returned)
SW_VERIFY_FAILED = 0x63C0  # low nibble = tries left; 63C0 also on the exhausting try and on a blocked PIN
SW_WRONG_LENGTH = 0x6700
SW_SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
SW_FILE_INCOMPATIBLE = 0x6981  # e.g. READ BINARY on a key EF
SW_SECURITY_STATUS_NOT_SATISFIED = 0x6982
SW_PIN_BLOCKED = 0x6984  # "referenced IEF blocked"
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_NO_CURRENT_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1P2 = 0x6A86
SW_REFERENCED_DATA_NOT_FOUND = 0x6A88
SW_OFFSET_OUTSIDE_EF = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_NO_PRECISE_DIAGNOSIS = 0x6F00

SW_VERIFY_FAILED_MASK = 0xFFF0
SW_TRIES_LEFT_MASK = 0x000F


def sw_tries_left(tries_left: int) -> int:
    """``63Cx``: a failed or empty VERIFY with ``x`` tries left."""
    if not 0 <= tries_left <= SW_TRIES_LEFT_MASK:
        raise ValueError("tries left must fit in one nibble")
    return SW_VERIFY_FAILED | tries_left


def is_verify_failed(sw: int) -> bool:
    return sw & SW_VERIFY_FAILED_MASK == SW_VERIFY_FAILED


def tries_left_of(sw: int) -> int:
    return sw & SW_TRIES_LEFT_MASK


# -- class and instruction bytes ---------------------------------------------------------------------
CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80  # COMPUTE DIGITAL SIGNATURE is proprietary on the JPKI AP (§2.5)
# Interindustry CLA with secure messaging (proprietary / ISO header authenticated): the JPKI AP has none (§2.1).
CLA_SECURE_MESSAGING = (0x08, 0x0C)

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_VERIFY = 0x20
INS_CHANGE_REFERENCE_DATA = 0x24
INS_COMPUTE_DIGITAL_SIGNATURE = 0x2A
INS_GET_RESPONSE = 0xC0

# Transport-level status bytes (T=0 over a contact reader): more data waiting, or resend with this Le.
SW1_RESPONSE_BYTES_AVAILABLE = 0x61
SW1_WRONG_LE = 0x6C

# SELECT (§2.1, §2.2)
P1_SELECT_MF = 0x00
P1_SELECT_EF_UNDER_CURRENT_DF = 0x02
P1_SELECT_BY_DF_NAME = 0x04
P2_SELECT_NO_RESPONSE_DATA = 0x0C

# READ BINARY (§2.3): P1 b8 = 1 names a short EF in b5-b1 and P2 is then an 8-bit offset.
P1_READ_BINARY_SHORT_EF = 0x80
READ_BINARY_SHORT_EF_RESERVED_BITS = 0x60
MAX_READ_BINARY_OFFSET = 0x7FFF

# VERIFY, CHANGE REFERENCE DATA, COMPUTE DIGITAL SIGNATURE (§2.4, §2.5): P2 = 80 is "the current EF";
# 80 | SFI names the key or PIN EF directly.
P2_CURRENT_EF = 0x80
P2_SHORT_EF_FLAG = 0x80
SHORT_EF_MASK = 0x1F
MIN_SHORT_EF = 0x01
MAX_SHORT_EF = 0x1E
P1_VERIFY = 0x00
P1_CHANGE_REFERENCE_DATA = 0x01
P1_SIGN_PKCS1_V1_5 = 0x00

SHORT_APDU_MAX_DATA = 255
SHORT_APDU_MAX_LE = 256
HEADER_LENGTH = 4

# -- applications (§2.1) -----------------------------------------------------------------------------
JPKI_AID = bytes.fromhex("D392F000260100000001")  # 公的個人認証AP
TEXT_AP_AID = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
VISUAL_AP_AID = bytes.fromhex("D3921000310001010402")  # 券面事項確認AP (not emulated)

# ATR in OpenSC's table (contactless readers synthesize their own).
JPKI_CARD_ATR = bytes.fromhex("3BE000FF8131FE4514")

# -- JPKI AP files (§2.2) ----------------------------------------------------------------------------
EF_SIGNATURE_CERTIFICATE = 0x0001
EF_SIGNATURE_CA_CERTIFICATE = 0x0002
EF_TOKEN_INFO = 0x0006
EF_CERTIFICATE_AVAILABILITY = 0x0008
EF_AUTHENTICATION_CERTIFICATE = 0x000A
EF_AUTHENTICATION_CA_CERTIFICATE = 0x000B
EF_AUTHENTICATION_KEY = 0x0017
EF_AUTHENTICATION_PIN = 0x0018
EF_SIGNATURE_KEY = 0x001A
EF_SIGNATURE_PIN = 0x001B

# -- 券面事項入力補助AP files (§2.6) -------------------------------------------------------------------
EF_TEXT_MY_NUMBER = 0x0001
EF_TEXT_BASIC_FOUR = 0x0002
EF_TEXT_PIN = 0x0011

FID_LENGTH = 2


class MalformedApdu(ValueError):
    """Bytes that are not a short command APDU; ``sw`` is what a card answers (6700 for a bad length)."""

    def __init__(self, sw: int, reason: str) -> None:
        super().__init__(f"{reason} ({sw:04X})")
        self.sw = sw


@dataclass(frozen=True, slots=True)
class CommandAPDU:
    """A short command APDU (ISO/IEC 7816-4 §5.1): cases 1-4, data up to 255 bytes, Ne up to 256.

    ``le`` is Ne: None when absent (cases 1 and 3), 1-256 when present (Le byte 00 means 256).
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"{name} is one byte")
        if len(self.data) > SHORT_APDU_MAX_DATA:
            raise ValueError(f"a short APDU carries at most {SHORT_APDU_MAX_DATA} data bytes")
        if self.le is not None and not 1 <= self.le <= SHORT_APDU_MAX_LE:
            raise ValueError(f"Ne is 1-{SHORT_APDU_MAX_LE}")

    @classmethod
    def parse(cls, raw: bytes) -> CommandAPDU:
        """Decode a short APDU; :class:`MalformedApdu` (6700) if the lengths do not add up.

        Extended-length APDUs (a 00 byte where Lc would be) are not supported by the card: 6700.
        """
        if len(raw) < HEADER_LENGTH:
            raise MalformedApdu(SW_WRONG_LENGTH, "shorter than a command header")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        body = raw[HEADER_LENGTH:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or SHORT_APDU_MAX_LE)
        lc = body[0]
        if lc == 0:
            raise MalformedApdu(SW_WRONG_LENGTH, "extended-length APDUs are not supported")
        if len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:]))
        if len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:-1]), le=body[-1] or SHORT_APDU_MAX_LE)
        raise MalformedApdu(SW_WRONG_LENGTH, f"Lc {lc} does not match {len(body) - 1} bytes after it")

    def to_bytes(self) -> bytes:
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out.append(len(self.data))
            out += self.data
        if self.le is not None:
            out.append(self.le % SHORT_APDU_MAX_LE)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class ResponseAPDU:
    """Response data followed by the two status bytes SW1 SW2."""

    data: bytes
    sw: int

    @classmethod
    def parse(cls, raw: bytes) -> ResponseAPDU:
        if len(raw) < 2:
            raise ValueError("a response APDU ends with two status bytes")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK


def select_aid(aid: bytes) -> CommandAPDU:
    """SELECT by DF name, no response data: ``00 A4 04 0C Lc AID``."""
    return CommandAPDU(CLA_ISO, INS_SELECT, P1_SELECT_BY_DF_NAME, P2_SELECT_NO_RESPONSE_DATA, aid)


def select_ef(fid: int) -> CommandAPDU:
    """SELECT EF under the current DF: ``00 A4 02 0C 02 FID``."""
    return CommandAPDU(
        CLA_ISO, INS_SELECT, P1_SELECT_EF_UNDER_CURRENT_DF, P2_SELECT_NO_RESPONSE_DATA, fid.to_bytes(FID_LENGTH, "big")
    )


def read_binary(offset: int, length: int) -> CommandAPDU:
    """READ BINARY of the current EF at a 15-bit offset: ``00 B0 P1 P2 Le``."""
    if not 0 <= offset <= MAX_READ_BINARY_OFFSET:
        raise ValueError("READ BINARY offsets are 15 bits")
    return CommandAPDU(CLA_ISO, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=length)


def verify(pin: bytes) -> CommandAPDU:
    """VERIFY the current PIN EF: ``00 20 00 80 Lc PIN``; with no PIN it asks the tries left."""
    return CommandAPDU(CLA_ISO, INS_VERIFY, P1_VERIFY, P2_CURRENT_EF, pin)


def compute_digital_signature(digest_info: bytes) -> CommandAPDU:
    """COMPUTE DIGITAL SIGNATURE with the current key EF: ``80 2A 00 80 Lc DigestInfo 00``."""
    return CommandAPDU(
        CLA_PROPRIETARY,
        INS_COMPUTE_DIGITAL_SIGNATURE,
        P1_SIGN_PKCS1_V1_5,
        P2_CURRENT_EF,
        digest_info,
        SHORT_APDU_MAX_LE,
    )


def get_response(length: int) -> CommandAPDU:
    """GET RESPONSE after ``61xx``: ``00 C0 00 00 xx``."""
    return CommandAPDU(CLA_ISO, INS_GET_RESPONSE, 0, 0, le=length or SHORT_APDU_MAX_LE)


def change_reference_data(new_pin: bytes) -> CommandAPDU:
    """CHANGE REFERENCE DATA after VERIFY: ``00 24 01 80 Lc new PIN``."""
    return CommandAPDU(CLA_ISO, INS_CHANGE_REFERENCE_DATA, P1_CHANGE_REFERENCE_DATA, P2_CURRENT_EF, new_pin)
