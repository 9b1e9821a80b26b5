from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from anchorid.jpki import apdu
from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference
from anchorid.jpki.client import SHA256_DIGEST_INFO_PREFIX
from anchorid.jpki.emulator import JPKICardEmulator

SELECT_JPKI = apdu.select_aid(apdu.JPKI_AID).to_bytes()
SELECT_TEXT = apdu.select_aid(apdu.TEXT_AP_AID).to_bytes()


def sw(response: bytes) -> int:
    return int.from_bytes(response[-2:], "big")


def select_ef(fid: int) -> bytes:
    return apdu.select_ef(fid).to_bytes()


def verify(pin: bytes) -> bytes:
    return apdu.verify(pin).to_bytes()


def read(offset: int, length: int) -> bytes:
    return apdu.read_binary(offset, length).to_bytes()


@pytest.fixture
def emulator(card_path: Path) -> JPKICardEmulator:
    card = JPKICardEmulator(CardFile.load(card_path))
    card.reset()
    return card


def read_der(emulator: JPKICardEmulator, fid: int) -> bytes:
    assert sw(emulator.transmit(select_ef(fid))) == apdu.SW_OK
    head = emulator.transmit(read(0, 4))
    total = 4 + int.from_bytes(head[2:4], "big")
    data = b""
    while len(data) < total:
        response = emulator.transmit(read(len(data), min(256, total - len(data))))
        assert sw(response) == apdu.SW_OK
        data += response[:-2]
    return data


def test_it_answers_the_jpki_atr_on_reset(emulator: JPKICardEmulator) -> None:
    assert emulator.reset().hex().upper() == "3BE000FF8131FE4514"


def test_it_selects_both_applications_and_refuses_an_unknown_aid(emulator: JPKICardEmulator) -> None:
    assert sw(emulator.transmit(SELECT_JPKI)) == apdu.SW_OK
    assert sw(emulator.transmit(SELECT_TEXT)) == apdu.SW_OK
    assert sw(emulator.transmit(apdu.select_aid(apdu.VISUAL_AP_AID[:-1] + b"\x99").to_bytes())) == 0x6A82


def test_it_refuses_an_ef_before_an_application_is_selected(emulator: JPKICardEmulator) -> None:
    assert sw(emulator.transmit(select_ef(apdu.EF_AUTHENTICATION_CERTIFICATE))) == apdu.SW_FILE_NOT_FOUND
    assert sw(emulator.transmit(read(0, 4))) == apdu.SW_NO_CURRENT_EF


def test_it_reads_the_auth_certificate_without_a_pin(emulator: JPKICardEmulator, card_path: Path) -> None:
    emulator.transmit(SELECT_JPKI)
    der = read_der(emulator, apdu.EF_AUTHENTICATION_CERTIFICATE)
    assert x509.load_der_x509_certificate(der) == CardFile.load(card_path).certificate(KeySlot.AUTHENTICATION)


def test_it_pads_files_after_the_object_and_answers_6b00_past_the_end(emulator: JPKICardEmulator) -> None:
    emulator.transmit(SELECT_JPKI)
    der = read_der(emulator, apdu.EF_AUTHENTICATION_CA_CERTIFICATE)
    after = emulator.transmit(read(len(der), 8))
    assert (after[:-2], sw(after)) == (b"\xff" * 8, apdu.SW_OK)
    assert sw(emulator.transmit(read(0x7FFF, 1))) == apdu.SW_OFFSET_OUTSIDE_EF


def test_it_answers_256_bytes_for_le_00(emulator: JPKICardEmulator) -> None:
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(apdu.EF_AUTHENTICATION_CERTIFICATE))
    assert len(emulator.transmit(bytes.fromhex("00B0000000"))) == 258


def test_it_reads_a_short_ef_by_sfi(emulator: JPKICardEmulator) -> None:
    emulator.transmit(SELECT_JPKI)
    response = emulator.transmit(bytes([0x00, 0xB0, 0x80 | apdu.EF_CERTIFICATE_AVAILABILITY, 0x00, 0x03]))
    assert response.hex().upper() == "8F8F009000"


def test_it_protects_the_signature_certificate_until_its_pin_is_verified(
    emulator: JPKICardEmulator, card_secrets
) -> None:
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(apdu.EF_SIGNATURE_CERTIFICATE))
    assert sw(emulator.transmit(read(0, 4))) == apdu.SW_SECURITY_STATUS_NOT_SATISFIED
    emulator.transmit(select_ef(apdu.EF_SIGNATURE_PIN))
    assert sw(emulator.transmit(verify(card_secrets.signature_pin.encode()))) == apdu.SW_OK
    assert read_der(emulator, apdu.EF_SIGNATURE_CERTIFICATE)[0] == 0x30


def test_it_forgets_a_verified_pin_on_reset_and_on_selecting_another_ap(
    emulator: JPKICardEmulator, card_secrets
) -> None:
    for forget in (emulator.reset, lambda: emulator.transmit(SELECT_TEXT)):
        emulator.transmit(SELECT_JPKI)
        emulator.transmit(
            bytes([0x00, 0x20, 0x00, 0x80 | apdu.EF_SIGNATURE_PIN, len(card_secrets.signature_pin)])
            + card_secrets.signature_pin.encode()
        )
        forget()
        emulator.transmit(SELECT_JPKI)
        emulator.transmit(select_ef(apdu.EF_SIGNATURE_CERTIFICATE))
        assert sw(emulator.transmit(read(0, 4))) == apdu.SW_SECURITY_STATUS_NOT_SATISFIED


def test_it_tells_tries_left_on_an_empty_verify_without_spending_one(emulator: JPKICardEmulator) -> None:
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(apdu.EF_SIGNATURE_PIN))
    assert sw(emulator.transmit(verify(b""))) == 0x63C5
    assert sw(emulator.transmit(bytes.fromhex("0020008000"))) == 0x63C5
    emulator.transmit(select_ef(apdu.EF_AUTHENTICATION_PIN))
    assert sw(emulator.transmit(verify(b""))) == 0x63C3


def test_it_blocks_the_signature_pin_after_five_wrong_tries_and_stays_blocked_after_reload(
    emulator: JPKICardEmulator, card_path: Path, card_secrets
) -> None:
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(apdu.EF_SIGNATURE_PIN))
    answers = [sw(emulator.transmit(verify(b"WRONG0"))) for _ in range(6)]
    assert answers == [0x63C4, 0x63C3, 0x63C2, 0x63C1, 0x63C0, apdu.SW_PIN_BLOCKED]
    assert sw(emulator.transmit(verify(b""))) == 0x63C0

    reloaded = JPKICardEmulator(CardFile.load(card_path))
    reloaded.transmit(SELECT_JPKI)
    reloaded.transmit(select_ef(apdu.EF_SIGNATURE_PIN))
    assert sw(reloaded.transmit(verify(card_secrets.signature_pin.encode()))) == apdu.SW_PIN_BLOCKED
    reloaded.transmit(select_ef(apdu.EF_AUTHENTICATION_PIN))
    assert sw(reloaded.transmit(verify(b""))) == 0x63C3
    assert sw(reloaded.transmit(verify(card_secrets.authentication_pin.encode()))) == apdu.SW_OK


def test_it_restores_the_counter_after_the_right_pin(emulator: JPKICardEmulator, card_secrets) -> None:
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(apdu.EF_AUTHENTICATION_PIN))
    assert sw(emulator.transmit(verify(b"0000"))) == 0x63C2
    assert sw(emulator.transmit(verify(card_secrets.authentication_pin.encode()))) == apdu.SW_OK
    assert sw(emulator.transmit(verify(b""))) == 0x63C3


def test_it_blocks_the_text_ap_pin_after_three_tries(emulator: JPKICardEmulator) -> None:
    emulator.transmit(SELECT_TEXT)
    emulator.transmit(select_ef(apdu.EF_TEXT_PIN))
    assert [sw(emulator.transmit(verify(b"0000"))) for _ in range(4)] == [0x63C2, 0x63C1, 0x63C0, 0x6984]


@pytest.mark.parametrize("slot", list(KeySlot))
def test_it_signs_a_digest_info_with_the_selected_key_after_its_pin(
    emulator: JPKICardEmulator, card_path: Path, card_secrets, slot: KeySlot
) -> None:
    pin_ef, key_ef, pin = {
        KeySlot.SIGNATURE: (apdu.EF_SIGNATURE_PIN, apdu.EF_SIGNATURE_KEY, card_secrets.signature_pin),
        KeySlot.AUTHENTICATION: (
            apdu.EF_AUTHENTICATION_PIN,
            apdu.EF_AUTHENTICATION_KEY,
            card_secrets.authentication_pin,
        ),
    }[slot]
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"nonce")
    command = apdu.compute_digital_signature(SHA256_DIGEST_INFO_PREFIX + digest.finalize()).to_bytes()
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(key_ef))
    assert sw(emulator.transmit(command)) == apdu.SW_SECURITY_STATUS_NOT_SATISFIED
    emulator.transmit(select_ef(pin_ef))
    emulator.transmit(verify(pin.encode()))
    emulator.transmit(select_ef(key_ef))
    response = emulator.transmit(command)
    assert sw(response) == apdu.SW_OK
    assert len(response) == 258
    CardFile.load(card_path).public_key(slot).verify(response[:-2], b"nonce", padding.PKCS1v15(), hashes.SHA256())


def test_it_refuses_to_sign_more_than_245_bytes(emulator: JPKICardEmulator, card_secrets) -> None:
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(apdu.EF_AUTHENTICATION_PIN))
    emulator.transmit(verify(card_secrets.authentication_pin.encode()))
    emulator.transmit(select_ef(apdu.EF_AUTHENTICATION_KEY))
    assert sw(emulator.transmit(apdu.compute_digital_signature(bytes(246)).to_bytes())) == apdu.SW_WRONG_LENGTH
    assert sw(emulator.transmit(apdu.compute_digital_signature(bytes(245)).to_bytes())) == apdu.SW_OK


def test_it_never_reads_out_a_key_or_pin_ef(emulator: JPKICardEmulator) -> None:
    emulator.transmit(SELECT_JPKI)
    for fid in (apdu.EF_SIGNATURE_KEY, apdu.EF_AUTHENTICATION_KEY, apdu.EF_SIGNATURE_PIN, apdu.EF_AUTHENTICATION_PIN):
        assert sw(emulator.transmit(select_ef(fid))) == apdu.SW_OK
        assert emulator.transmit(read(0, 256)) == apdu.SW_FILE_INCOMPATIBLE.to_bytes(2, "big")
        assert sw(emulator.transmit(bytes([0x00, 0xB0, 0x80 | fid, 0x00, 0x00]))) == apdu.SW_FILE_INCOMPATIBLE


def test_it_says_so_when_there_is_no_signature_certificate(child_card_path: Path) -> None:
    emulator = JPKICardEmulator(CardFile.load(child_card_path))
    emulator.transmit(SELECT_JPKI)
    assert emulator.transmit(bytes([0x00, 0xB0, 0x80 | apdu.EF_CERTIFICATE_AVAILABILITY, 0x00, 0x03]))[0] != 0x8F
    assert sw(emulator.transmit(select_ef(apdu.EF_SIGNATURE_CERTIFICATE))) == apdu.SW_FILE_NOT_FOUND


def test_it_changes_the_pin_only_after_verify(emulator: JPKICardEmulator, card_path: Path, card_secrets) -> None:
    change = apdu.change_reference_data(b"4321").to_bytes()
    emulator.transmit(SELECT_JPKI)
    emulator.transmit(select_ef(apdu.EF_AUTHENTICATION_PIN))
    assert sw(emulator.transmit(change)) == apdu.SW_SECURITY_STATUS_NOT_SATISFIED
    emulator.transmit(verify(card_secrets.authentication_pin.encode()))
    assert sw(emulator.transmit(apdu.change_reference_data(b"12a4").to_bytes())) == apdu.SW_WRONG_DATA
    assert sw(emulator.transmit(change)) == apdu.SW_OK
    assert CardFile.load(card_path).try_pin(PinReference.AUTHENTICATION, b"4321")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", apdu.SW_WRONG_LENGTH),
        ("00A4", apdu.SW_WRONG_LENGTH),
        ("FFA4040C", apdu.SW_CLA_NOT_SUPPORTED),
        ("0CA4040C", apdu.SW_SECURE_MESSAGING_NOT_SUPPORTED),
        ("00CA0000", apdu.SW_INS_NOT_SUPPORTED),
        ("002A0080", apdu.SW_INS_NOT_SUPPORTED),
        ("00A40000", apdu.SW_INCORRECT_P1P2),
        ("00A4040002D392", apdu.SW_INCORRECT_P1P2),
        ("00A4020C0100", apdu.SW_WRONG_LENGTH),
        ("00200180", apdu.SW_INCORRECT_P1P2),
        ("00200080", apdu.SW_NO_CURRENT_EF),
        ("00200099", apdu.SW_REFERENCED_DATA_NOT_FOUND),
        ("802A0080", apdu.SW_WRONG_LENGTH),
    ],
)
def test_it_answers_malformed_commands_with_a_status_word(emulator: JPKICardEmulator, raw: str, expected: int) -> None:
    assert emulator.transmit(bytes.fromhex(raw)) == expected.to_bytes(2, "big")
    assert emulator.internal_errors == 0
