import datetime
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from anchorid.jpki.attributes import BasicFourInfo, Gender
from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference
from anchorid.jpki.errors import CardFileCorrupt, CardNotPresent, InvalidPinFormat

SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def test_it_manufactures_a_blank_card_with_two_keys_and_mode_0600(tmp_path: Path) -> None:
    card = CardFile.manufacture(tmp_path / "blank.json")
    assert stat.S_IMODE(card.path.stat().st_mode) == 0o600
    signature, authentication = card.public_key(KeySlot.SIGNATURE), card.public_key(KeySlot.AUTHENTICATION)
    assert signature.key_size == authentication.key_size == 2048
    assert signature.public_numbers() != authentication.public_numbers()
    assert card.certificate(KeySlot.SIGNATURE) is None
    assert not card.pin_is_set(PinReference.SIGNATURE)
    assert CardFile.load(card.path).public_key(KeySlot.SIGNATURE).public_numbers() == signature.public_numbers()


def test_it_raises_card_not_present_for_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CardNotPresent):
        CardFile.load(tmp_path / "nothing.json")


@pytest.mark.parametrize("content", [b"", b"{}", b"[1]", b"\xff\xfe", b'{"format": "anchorid-jpki-card/1"}'])
def test_it_refuses_a_corrupt_card_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CardFileCorrupt):
        CardFile.load(path)


def test_it_refuses_a_counter_outside_its_range(card_path: Path) -> None:
    data = json.loads(card_path.read_text())
    data["pins"]["signature"]["tries_left"] = 6
    card_path.write_text(json.dumps(data))
    with pytest.raises(CardFileCorrupt):
        CardFile.load(card_path)


def test_it_keeps_certificates_and_pins_across_a_reload(card_path: Path) -> None:
    card = CardFile.load(card_path)
    assert card.certificate(KeySlot.SIGNATURE) is not None
    assert card.ca_certificate_der(KeySlot.AUTHENTICATION) is not None
    assert card.pin_tries_left(PinReference.SIGNATURE) == 5
    assert card.pin_tries_left(PinReference.AUTHENTICATION) == 3
    assert card.pin_tries_left(PinReference.TEXT_AP) == 3
    assert card.text_ap is not None


def test_it_writes_a_wrong_pin_to_the_file_at_once(card_path: Path) -> None:
    card = CardFile.load(card_path)
    assert not card.try_pin(PinReference.SIGNATURE, b"WRONG1")
    assert CardFile.load(card_path).pin_tries_left(PinReference.SIGNATURE) == 4


def test_it_restores_the_counter_on_the_right_pin(card_path: Path, card_secrets) -> None:
    card = CardFile.load(card_path)
    card.try_pin(PinReference.AUTHENTICATION, b"0000")
    assert card.try_pin(PinReference.AUTHENTICATION, card_secrets.authentication_pin.encode())
    assert CardFile.load(card_path).pin_tries_left(PinReference.AUTHENTICATION) == 3


def test_it_stays_blocked_even_with_the_right_pin(card_path: Path, card_secrets) -> None:
    card = CardFile.load(card_path)
    for _ in range(5):
        card.try_pin(PinReference.SIGNATURE, b"WRONG1")
    reloaded = CardFile.load(card_path)
    assert reloaded.pin_is_blocked(PinReference.SIGNATURE)
    assert not reloaded.try_pin(PinReference.SIGNATURE, card_secrets.signature_pin.encode())
    assert reloaded.pin_tries_left(PinReference.AUTHENTICATION) == 3


def test_it_resets_a_blocked_pin_at_the_counter(card_path: Path) -> None:
    card = CardFile.load(card_path)
    for _ in range(5):
        card.try_pin(PinReference.SIGNATURE, b"WRONG1")
    card.reset_pin(KeySlot.SIGNATURE, "newpass99")
    reloaded = CardFile.load(card_path)
    assert reloaded.pin_tries_left(PinReference.SIGNATURE) == 5
    assert reloaded.try_pin(PinReference.SIGNATURE, b"NEWPASS99")


@pytest.mark.parametrize("pin", ["ABC12", "A" * 17, "ABC-123", "ＡＢＣ１２３", ""])
def test_it_rejects_a_signature_password_breaking_the_rules(card_path: Path, pin: str) -> None:
    with pytest.raises(InvalidPinFormat):
        CardFile.load(card_path).reset_pin(KeySlot.SIGNATURE, pin)


@pytest.mark.parametrize("pin", ["123", "12345", "abcd", "１２３４"])
def test_it_rejects_an_auth_pin_that_is_not_four_digits(card_path: Path, pin: str) -> None:
    with pytest.raises(InvalidPinFormat):
        CardFile.load(card_path).reset_pin(KeySlot.AUTHENTICATION, pin)


def test_it_refuses_a_certificate_for_another_key(card_path: Path) -> None:
    card = CardFile.load(card_path)
    foreign = card.certificate(KeySlot.AUTHENTICATION)
    assert foreign is not None
    with pytest.raises(ValueError, match="public key"):
        card.install_signature_certificate(foreign)


def test_it_drops_the_old_certificate_when_the_key_is_regenerated(card_path: Path) -> None:
    card = CardFile.load(card_path)
    old = card.public_key(KeySlot.SIGNATURE)
    new = card.regenerate_key(KeySlot.SIGNATURE)
    assert new.public_numbers() != old.public_numbers()
    reloaded = CardFile.load(card_path)
    assert reloaded.certificate(KeySlot.SIGNATURE) is None
    assert reloaded.ca_certificate_der(KeySlot.SIGNATURE) is not None
    assert reloaded.certificate(KeySlot.AUTHENTICATION) is not None


def test_it_signs_a_digest_info_verifiable_with_the_public_key(card_path: Path) -> None:
    card = CardFile.load(card_path)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"challenge")
    signature = card.sign_digest_info(KeySlot.SIGNATURE, SHA256_DIGEST_INFO_PREFIX + digest.finalize())
    card.public_key(KeySlot.SIGNATURE).verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())


def test_it_keeps_the_text_ap_data(card_path: Path) -> None:
    card = CardFile.load(card_path)
    info = BasicFourInfo.plain("横浜\u3000太郎", datetime.date(2001, 2, 3), Gender.MALE, "神奈川県鎌倉市大船１丁目")
    card.personalize_text_ap(my_number="000000000000", info=info, pin="4321")
    text_ap = CardFile.load(card_path).text_ap
    assert text_ap is not None
    assert text_ap.info == info
    assert text_ap.my_number == "000000000000"


def test_it_leaves_no_temporary_files_behind(card_path: Path) -> None:
    CardFile.load(card_path).try_pin(PinReference.SIGNATURE, b"WRONG1")
    assert sorted(p.name for p in card_path.parent.iterdir() if not p.name.endswith(".lock")) == ["card.json"]


def test_it_does_not_undo_a_change_made_by_another_holder_of_the_card(card_path: Path) -> None:
    emulator_side, counter_side = CardFile.load(card_path), CardFile.load(card_path)
    for _ in range(5):
        emulator_side.try_pin(PinReference.SIGNATURE, b"WRONG1")
    counter_side.reset_pin(KeySlot.SIGNATURE, "RESET123")
    emulator_side.try_pin(PinReference.AUTHENTICATION, b"0000")
    reloaded = CardFile.load(card_path)
    assert reloaded.pin_tries_left(PinReference.SIGNATURE) == 5
    assert reloaded.pin_tries_left(PinReference.AUTHENTICATION) == 2
