import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from anchorid.jpki.attributes import Gender
from anchorid.jpki.cardfile import CardFile, KeySlot
from anchorid.jpki.client import JPKICard, parse_basic_four
from anchorid.jpki.emulator import text_basic_four
from anchorid.jpki.errors import (
    CardError,
    CardNotPresent,
    CertificateNotPresent,
    InvalidPinFormat,
    PinBlocked,
    PinNotSet,
    UnexpectedStatus,
    WrongPin,
)
from anchorid.jpki.transport import EmulatorTransport


@pytest.fixture
def card(card_path: Path) -> JPKICard:
    return JPKICard(EmulatorTransport(card_path))


def test_it_reads_the_certificates_the_card_was_personalised_with(
    card: JPKICard, card_path: Path, card_secrets
) -> None:
    stored = CardFile.load(card_path)
    assert card.read_auth_certificate() == stored.certificate(KeySlot.AUTHENTICATION)
    assert card.read_signature_certificate(card_secrets.signature_pin) == stored.certificate(KeySlot.SIGNATURE)
    ca_der = stored.ca_certificate_der(KeySlot.SIGNATURE)
    assert card.read_ca_certificate(KeySlot.SIGNATURE).public_bytes(Encoding.DER) == ca_der


def test_it_uppercases_the_signature_password(card: JPKICard, card_secrets) -> None:
    card.verify_signature_pin(card_secrets.signature_pin.lower())
    assert card.signature_pin_tries_left() == 5


def test_it_raises_wrong_pin_with_tries_left_then_pin_blocked(card: JPKICard) -> None:
    for expected in (4, 3, 2, 1):
        with pytest.raises(WrongPin) as caught:
            card.verify_signature_pin("WRONG1")
        assert caught.value.tries_left == expected
    with pytest.raises(PinBlocked):
        card.verify_signature_pin("WRONG1")
    with pytest.raises(PinBlocked):
        card.verify_signature_pin("WRONG1")
    assert card.signature_pin_tries_left() == 0
    assert card.auth_pin_tries_left() == 3


def test_it_keeps_the_signature_pin_blocked_in_a_new_session_and_the_auth_pin_usable(
    card_path: Path, card_secrets
) -> None:
    with JPKICard(EmulatorTransport(card_path)) as first:
        for _ in range(4):
            with pytest.raises(WrongPin):
                first.verify_signature_pin("WRONG1")
        with pytest.raises(PinBlocked):
            first.verify_signature_pin("WRONG1")
    with JPKICard(EmulatorTransport(card_path)) as second:
        with pytest.raises(PinBlocked):
            second.verify_signature_pin(card_secrets.signature_pin)
        second.sign(b"login", pin=card_secrets.authentication_pin, key=KeySlot.AUTHENTICATION)
        assert second.status().authentication_pin_tries_left == 3


def test_it_refuses_a_malformed_pin_without_spending_a_try(card: JPKICard) -> None:
    with pytest.raises(InvalidPinFormat):
        card.verify_signature_pin("short")
    with pytest.raises(InvalidPinFormat):
        card.sign(b"x", pin="12345", key=KeySlot.AUTHENTICATION)
    assert card.signature_pin_tries_left() == 5
    assert card.auth_pin_tries_left() == 3


@pytest.mark.parametrize("slot", list(KeySlot))
def test_it_signs_with_either_key_verifiable_with_its_certificate(card: JPKICard, card_secrets, slot: KeySlot) -> None:
    pin = card_secrets.signature_pin if slot is KeySlot.SIGNATURE else card_secrets.authentication_pin
    signature = card.sign(b"challenge", pin=pin, key=slot)
    certificate = (
        card.read_signature_certificate(card_secrets.signature_pin)
        if slot is KeySlot.SIGNATURE
        else card.read_auth_certificate()
    )
    certificate.public_key().verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())


def test_it_reads_the_four_basic_attributes_from_the_text_ap(card: JPKICard, card_secrets) -> None:
    assert card.read_basic_four(card_secrets.text_ap_pin) == card_secrets.info


def test_it_counts_wrong_text_ap_pins(card: JPKICard) -> None:
    with pytest.raises(WrongPin) as caught:
        card.read_basic_four("0000")
    assert caught.value.tries_left == 2
    assert card.text_ap_pin_tries_left() == 2


def test_it_reports_the_card_status(card: JPKICard) -> None:
    status = card.status()
    assert status.token_label == "JPKIAPICCTOKEN2"
    assert status.has_signature_certificate
    assert (status.signature_pin_tries_left, status.authentication_pin_tries_left) == (5, 3)


def test_it_reports_a_card_without_signature_certificate(child_card_path: Path, card_secrets) -> None:
    card = JPKICard(EmulatorTransport(child_card_path))
    assert not card.status().has_signature_certificate
    with pytest.raises(CertificateNotPresent):
        card.read_signature_certificate(card_secrets.signature_pin)


def test_it_raises_card_not_present_without_a_card_file(tmp_path: Path) -> None:
    with pytest.raises(CardNotPresent):
        EmulatorTransport(tmp_path / "none.json")


class ScriptedTransport:
    """A card that answers one fixed status word to everything."""

    def __init__(self, sw: int) -> None:
        self.sw = sw

    def transmit(self, command: bytes) -> bytes:
        return self.sw.to_bytes(2, "big")

    def close(self) -> None:
        pass


def test_it_raises_unexpected_status_for_an_odd_answer() -> None:
    with pytest.raises(UnexpectedStatus) as caught:
        JPKICard(ScriptedTransport(0x6F00)).read_auth_certificate()
    assert caught.value.sw == 0x6F00


def test_it_says_when_the_card_is_not_a_my_number_card() -> None:
    with pytest.raises(CardError, match="My Number Card"):
        JPKICard(ScriptedTransport(0x6A82)).status()


def test_it_parses_the_text_ap_record_and_checks_its_shape(card_path: Path) -> None:
    raw = text_basic_four(CardFile.load(card_path))
    assert raw is not None
    info = parse_basic_four(raw)
    assert (info.birth_date, info.gender) == (datetime.date(1990, 1, 2), Gender.FEMALE)
    with pytest.raises(CardError):
        parse_basic_four(b"\xff\x20\x03\xdf\x22\x05")
    with pytest.raises(CardError):
        parse_basic_four(b"\x30\x00")


def test_it_reports_a_blank_card_without_pins(tmp_path: Path) -> None:
    blank = CardFile.manufacture(tmp_path / "blank.json")
    card = JPKICard(EmulatorTransport(blank.path))
    status = card.status()
    assert (status.has_signature_certificate, status.signature_pin_tries_left) == (False, None)
    with pytest.raises(PinNotSet):
        card.verify_auth_pin("1234")
