import pytest

from anchorid.jpki import apdu
from anchorid.jpki.apdu import CommandAPDU, MalformedApdu, ResponseAPDU


def test_it_parses_a_case_1_apdu() -> None:
    assert CommandAPDU.parse(bytes.fromhex("00200080")) == CommandAPDU(0x00, 0x20, 0x00, 0x80)


def test_it_parses_a_case_2_apdu_with_le_00_as_256() -> None:
    assert CommandAPDU.parse(bytes.fromhex("00B0000000")).le == 256
    assert CommandAPDU.parse(bytes.fromhex("00B0000004")).le == 4


def test_it_parses_a_case_3_apdu() -> None:
    command = CommandAPDU.parse(bytes.fromhex("00A4020C02001B"))
    assert (command.data, command.le) == (bytes.fromhex("001B"), None)


def test_it_parses_a_case_4_apdu() -> None:
    command = CommandAPDU.parse(bytes.fromhex("802A008003AABBCC00"))
    assert (command.data, command.le) == (bytes.fromhex("AABBCC"), 256)


@pytest.mark.parametrize("raw", ["", "00", "00A402", "00A4020C03001B", "00A4020C0000", "00A4020C02001B0000"])
def test_it_answers_6700_for_lengths_that_do_not_add_up(raw: str) -> None:
    with pytest.raises(MalformedApdu) as caught:
        CommandAPDU.parse(bytes.fromhex(raw))
    assert caught.value.sw == apdu.SW_WRONG_LENGTH


@pytest.mark.parametrize(
    "command",
    [
        apdu.select_aid(apdu.JPKI_AID),
        apdu.select_ef(apdu.EF_SIGNATURE_PIN),
        apdu.read_binary(0x7FFF, 256),
        apdu.verify(b""),
        apdu.verify(b"1234"),
        apdu.compute_digital_signature(bytes(51)),
    ],
)
def test_it_round_trips_the_commands_the_client_builds(command: CommandAPDU) -> None:
    assert CommandAPDU.parse(command.to_bytes()) == command


def test_it_builds_the_documented_select_of_the_jpki_ap() -> None:
    assert apdu.select_aid(apdu.JPKI_AID).to_bytes().hex().upper() == "00A4040C0AD392F000260100000001"


def test_it_refuses_an_offset_beyond_15_bits() -> None:
    with pytest.raises(ValueError, match="15 bits"):
        apdu.read_binary(0x8000, 1)


def test_it_encodes_tries_left_in_63cx() -> None:
    assert apdu.sw_tries_left(3) == 0x63C3
    assert apdu.is_verify_failed(0x63C0)
    assert not apdu.is_verify_failed(apdu.SW_PIN_BLOCKED)
    assert apdu.tries_left_of(0x63C2) == 2


def test_it_splits_a_response_into_data_and_status_word() -> None:
    response = ResponseAPDU.parse(bytes.fromhex("0102039000"))
    assert (response.data, response.sw, response.ok) == (b"\x01\x02\x03", apdu.SW_OK, True)
    with pytest.raises(ValueError, match="status"):
        ResponseAPDU.parse(b"\x90")
