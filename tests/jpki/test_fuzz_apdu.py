"""≥ 10,000 random and structured APDU sequences: the emulated card always answers a status word, and its
persistent state is never corrupted (jpki-reference.md §2; issue #2 "must show").

After every command the card file is re-read and checked against a model: keys and certificates never
change; a PIN counter drops by exactly one only on a VERIFY carrying a wrong, non-empty PIN for that PIN,
rises only back to its maximum on a VERIFY with the right one; a PIN value changes only through a
successful CHANGE REFERENCE DATA to exactly the bytes sent. No response ever carries private-key bytes.
"""

import collections
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchorid.jpki import apdu
from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference
from anchorid.jpki.emulator import JPKICardEmulator

EXAMPLES = 10_000
MAX_STEPS = 8

PIN_EFS = {
    apdu.JPKI_AID: {apdu.EF_SIGNATURE_PIN: "signature", apdu.EF_AUTHENTICATION_PIN: "authentication"},
    apdu.TEXT_AP_AID: {apdu.EF_TEXT_PIN: "text_ap"},
}
ALL_FIDS = [
    apdu.EF_SIGNATURE_CERTIFICATE, apdu.EF_SIGNATURE_CA_CERTIFICATE, apdu.EF_TOKEN_INFO,
    apdu.EF_CERTIFICATE_AVAILABILITY, apdu.EF_AUTHENTICATION_CERTIFICATE, apdu.EF_AUTHENTICATION_CA_CERTIFICATE,
    apdu.EF_AUTHENTICATION_KEY, apdu.EF_AUTHENTICATION_PIN, apdu.EF_SIGNATURE_KEY, apdu.EF_SIGNATURE_PIN,
    apdu.EF_TEXT_PIN, 0x0000, 0x3F00, 0xFFFF,
]  # fmt: skip


def pin_candidates(secrets: Any) -> st.SearchStrategy[bytes]:
    right = [secrets.signature_pin, secrets.authentication_pin, secrets.text_ap_pin]
    return st.one_of(
        st.sampled_from([p.encode() for p in right]),
        st.sampled_from([b"WRONG1", b"0000", b"9999", b"abc123", secrets.signature_pin.lower().encode()]),
        st.binary(max_size=20),
    )


def structured_apdu(secrets: Any) -> st.SearchStrategy[bytes]:
    cla = st.sampled_from([apdu.CLA_ISO, apdu.CLA_PROPRIETARY, 0x0C, 0x08, 0x84, 0xFF]) | st.integers(0, 255)
    ins = st.sampled_from(
        [apdu.INS_SELECT, apdu.INS_READ_BINARY, apdu.INS_VERIFY, apdu.INS_CHANGE_REFERENCE_DATA,
         apdu.INS_COMPUTE_DIGITAL_SIGNATURE, apdu.INS_GET_RESPONSE, 0x88, 0xCA]
    ) | st.integers(0, 255)  # fmt: skip
    p1 = st.sampled_from([0x00, 0x01, 0x02, 0x04, 0x7F, 0x80, 0x81, 0x86, 0x88, 0x8A, 0x9B, 0xFF]) | st.integers(0, 255)
    p2 = st.sampled_from([0x00, 0x0C, 0x80, 0x81, 0x91, 0x97, 0x98, 0x9A, 0x9B, 0xFF]) | st.integers(0, 255)
    data = st.one_of(
        st.just(b""),
        st.sampled_from([apdu.JPKI_AID, apdu.TEXT_AP_AID, apdu.VISUAL_AP_AID, apdu.JPKI_AID[:-1]]),
        st.sampled_from(ALL_FIDS).map(lambda fid: fid.to_bytes(2, "big")),
        pin_candidates(secrets),
        st.binary(min_size=1, max_size=255),
        st.integers(1, 255).map(bytes),
    )
    le = st.one_of(st.none(), st.integers(0, 255))
    length_fault = st.sampled_from([None, None, None, "lc+1", "lc-1", "lc0", "truncate"])

    @st.composite
    def build(draw: Any) -> bytes:
        header = bytes([draw(cla), draw(ins), draw(p1), draw(p2)])
        body, ne, fault = draw(data), draw(le), draw(length_fault)
        out = bytearray(header)
        if body:
            lc = len(body) + {"lc+1": 1, "lc-1": -1, "lc0": -len(body)}.get(fault or "", 0)
            out.append(lc % 256)
            out += body
        if ne is not None:
            out.append(ne)
        if fault == "truncate" and len(out) > 1:
            del out[draw(st.integers(0, len(out) - 1)) :]
        return bytes(out)

    return build()


def meaningful_apdu(secrets: Any) -> st.SearchStrategy[bytes]:
    """Well-formed commands of the card's protocol with fuzzed arguments, so sequences reach deep states."""
    pins = pin_candidates(secrets).map(lambda pin: pin[:255])
    pin_sfi = st.sampled_from([apdu.EF_SIGNATURE_PIN, apdu.EF_AUTHENTICATION_PIN, apdu.EF_TEXT_PIN])
    key_sfi = st.sampled_from([apdu.EF_SIGNATURE_KEY, apdu.EF_AUTHENTICATION_KEY, apdu.EF_SIGNATURE_PIN])
    sign_p2 = st.just(apdu.P2_CURRENT_EF) | key_sfi.map(lambda fid: apdu.P2_SHORT_EF_FLAG | fid)
    commands = st.one_of(
        st.sampled_from([apdu.JPKI_AID, apdu.JPKI_AID, apdu.TEXT_AP_AID]).map(apdu.select_aid),
        st.sampled_from(ALL_FIDS).map(apdu.select_ef),
        pins.map(apdu.verify),
        st.builds(lambda pin, fid: apdu.CommandAPDU(0, apdu.INS_VERIFY, 0, 0x80 | fid, pin), pins, pin_sfi),
        st.just(apdu.verify(b"")),
        st.builds(apdu.read_binary, st.integers(0, 0x900) | st.integers(0, 0x7FFF), st.integers(1, 256)),
        st.builds(
            lambda fid, offset, le: apdu.CommandAPDU(0, apdu.INS_READ_BINARY, 0x80 | fid, offset, le=le),
            st.sampled_from(ALL_FIDS).map(lambda fid: fid & 0x1F), st.integers(0, 255), st.integers(1, 256),
        ),
        st.builds(
            lambda data, p2: apdu.CommandAPDU(apdu.CLA_PROPRIETARY, apdu.INS_COMPUTE_DIGITAL_SIGNATURE, 0, p2, data),
            st.binary(min_size=1, max_size=255) | st.binary(min_size=51, max_size=51), sign_p2,
        ),
        pins.filter(bool).map(apdu.change_reference_data),
    )  # fmt: skip
    return commands.map(lambda command: command.to_bytes())


def a_session(secrets: Any) -> st.SearchStrategy[list[bytes]]:
    """A power-on session: usually an AP selected first, then protocol commands with fuzzed arguments mixed
    with random and malformed bytes, and bursts of one repeated VERIFY (to reach 63C0 and 6984)."""
    meaningful = meaningful_apdu(secrets)
    single = st.one_of(st.binary(max_size=300), structured_apdu(secrets), meaningful, meaningful, meaningful)
    verify_by_sfi = st.builds(
        lambda pin, fid: apdu.CommandAPDU(0, apdu.INS_VERIFY, 0, 0x80 | fid, pin).to_bytes(),
        pin_candidates(secrets).map(lambda pin: pin[:255]),
        st.sampled_from([apdu.EF_SIGNATURE_PIN, apdu.EF_AUTHENTICATION_PIN, apdu.EF_TEXT_PIN]),
    )
    burst = st.builds(lambda command, times: [command] * times, verify_by_sfi, st.integers(1, 6))
    opening = st.sampled_from(
        [[apdu.select_aid(apdu.JPKI_AID).to_bytes()], [apdu.select_aid(apdu.TEXT_AP_AID).to_bytes()], []]
    )
    steps = st.lists(st.one_of(single.map(lambda command: [command]), burst), min_size=1, max_size=MAX_STEPS)
    return st.builds(lambda first, rest: first + [c for step in rest for c in step], opening, steps)


def state(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def private_exponent_fragments(path: Path) -> list[bytes]:
    card = state(path)
    fragments = []
    for slot in KeySlot:
        key = serialization.load_pem_private_key(card["keys"][slot.value]["private_key"].encode(), password=None)
        numbers = key.private_numbers()  # type: ignore[union-attr]
        for secret in (numbers.d, numbers.p, numbers.q):
            fragments.append(secret.to_bytes((secret.bit_length() + 7) // 8, "big")[:16])
    return fragments


def check_transition(before: dict[str, Any], after: dict[str, Any], command: bytes, response: bytes) -> None:
    assert after["keys"] == before["keys"], "keys or certificates changed"
    assert after["text_ap"] == before["text_ap"]
    assert after["token_label"] == before["token_label"]
    sw = int.from_bytes(response[-2:], "big")
    parsed = None
    try:
        parsed = apdu.CommandAPDU.parse(command)
    except apdu.MalformedApdu:
        assert sw == apdu.SW_WRONG_LENGTH
    is_verify = parsed is not None and (parsed.cla, parsed.ins, parsed.p1) == (apdu.CLA_ISO, apdu.INS_VERIFY, 0)
    is_change = parsed is not None and (parsed.cla, parsed.ins, parsed.p1, parsed.p2) == (0, 0x24, 1, 0x80)
    for reference in PinReference:
        old, new = before["pins"][reference.value], after["pins"][reference.value]
        if new == old:
            continue
        assert parsed is not None
        if new["value"] != old["value"]:
            assert is_change, f"{reference.value} PIN value changed by {command.hex()}"
            assert sw == apdu.SW_OK
            assert new["value"].encode() == parsed.data
            assert new["tries_left"] == reference.max_tries
        elif new["tries_left"] == old["tries_left"] - 1:
            assert is_verify, f"{reference.value} counter dropped on {command.hex()}"
            assert parsed.data, "an empty VERIFY spent a try"
            assert parsed.data != (old["value"] or "").encode(), "the right PIN spent a try"
            assert sw == apdu.sw_tries_left(new["tries_left"])
        else:
            assert is_verify, f"{reference.value} counter rose on {command.hex()}"
            assert parsed.data == old["value"].encode()
            assert (new["tries_left"], sw) == (reference.max_tries, apdu.SW_OK)
            assert old["tries_left"] > 0, "a blocked PIN was unblocked by VERIFY"


def test_it_answers_every_apdu_with_a_status_word_and_keeps_the_card_intact(
    tmp_path_factory: pytest.TempPathFactory, card_templates: dict[str, Path], card_secrets
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "card.json"
    template = card_templates["adult"]
    pristine = CardFile.load(template)
    forbidden = private_exponent_fragments(template)
    counts = {"examples": 0, "commands": 0}
    status_words: collections.Counter[int] = collections.Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(commands=a_session(card_secrets))
    def run(commands: list[bytes]) -> None:
        shutil.copyfile(template, path)
        emulator = JPKICardEmulator(CardFile.load(path))
        assert emulator.reset() == apdu.JPKI_CARD_ATR
        before = state(path)
        for command in commands:
            response = emulator.transmit(command)
            status_words[int.from_bytes(response[-2:], "big")] += 1
            assert isinstance(response, bytes)
            assert len(response) >= 2
            assert response[-2] in (0x61, 0x62, 0x63, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6D, 0x6E, 0x90)
            assert not any(fragment in response for fragment in forbidden)
            after = state(path)
            check_transition(before, after, command, response)
            before = after
        assert emulator.internal_errors == 0
        reloaded = CardFile.load(path)
        for slot in KeySlot:
            assert reloaded.public_key(slot).public_numbers() == pristine.public_key(slot).public_numbers()
            assert reloaded.certificate_der(slot) == pristine.certificate_der(slot)
            assert reloaded.ca_certificate_der(slot) == pristine.ca_certificate_der(slot)
        counts["examples"] += 1
        counts["commands"] += len(commands)

    run()
    print(f"fuzz: {counts['examples']} examples, {counts['commands']} APDUs")
    print("status words:", ", ".join(f"{sw:04X}x{n}" for sw, n in status_words.most_common()))
    assert counts["examples"] >= EXAMPLES
    # The sequences reached the states that matter: wrong and right PINs, blocked PINs, signatures.
    assert status_words[apdu.sw_tries_left(2)]
    assert status_words[apdu.SW_PIN_BLOCKED]
    assert status_words[apdu.SW_SECURITY_STATUS_NOT_SATISFIED]
    assert status_words[apdu.SW_OK]
