from __future__ import annotations

import datetime
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from django.conf import settings

from anchorid.idp.keystore import EncryptedFileKeyStore, KeyUnreadable
from anchorid.jlis.authority import load_authority
from anchorid.jlis.issuance import IssuanceError, card_expiry, issue_card
from anchorid.jlis.models import CertificateAuthority, CertificateKind, CertificateLink, LifeEvent
from anchorid.jlis.register import certificate_form, my_number_check_digit
from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference
from anchorid.jpki.certificates import parse_signature_certificate

pytestmark = pytest.mark.django_db


def test_it_issues_both_certificates_from_the_two_cas(counter: Any) -> None:
    sign = x509.load_der_x509_certificate(bytes(counter.adult.signature_certificate.der))  # type: ignore[union-attr]
    auth = x509.load_der_x509_certificate(bytes(counter.adult.authentication_certificate.der))
    assert sign.issuer == load_authority(CertificateKind.SIGNATURE).certificate.subject
    assert auth.issuer == load_authority(CertificateKind.AUTHENTICATION).certificate.subject
    sign.verify_directly_issued_by(load_authority(CertificateKind.SIGNATURE).certificate)
    auth.verify_directly_issued_by(load_authority(CertificateKind.AUTHENTICATION).certificate)


def test_it_uses_the_production_ca_names(counter: Any) -> None:
    subject = load_authority(CertificateKind.SIGNATURE).certificate.subject.rfc4514_string()
    assert "O=JPKI," in subject
    assert "OU=JPKI for digital signature" in subject


def test_it_puts_the_card_keys_into_the_certificates(counter: Any) -> None:
    card = CardFile.load(counter.adult.path)
    for slot, row in (
        (KeySlot.SIGNATURE, counter.adult.signature_certificate),
        (KeySlot.AUTHENTICATION, counter.adult.authentication_certificate),
    ):
        assert row is not None
        issued = x509.load_der_x509_certificate(bytes(row.der))
        assert issued.public_key() == card.public_key(slot)
        assert card.certificate_der(slot) == bytes(row.der)


def test_it_writes_the_substitute_character_map(counter: Any) -> None:
    assert counter.adult.signature_certificate is not None
    issued = x509.load_der_x509_certificate(bytes(counter.adult.signature_certificate.der))
    info = parse_signature_certificate(issued).info
    assert info.name == "吉田\u3000花子"
    assert info.name_substitutes == "10000"
    assert certificate_form("𠮷田") == ("吉田", "10")


def test_it_issues_no_signature_certificate_under_15(counter: Any) -> None:
    assert counter.child.signature_certificate is None
    card = CardFile.load(counter.child.path)
    assert card.certificate_der(KeySlot.SIGNATURE) is None
    assert card.certificate_der(KeySlot.AUTHENTICATION) is not None


def test_it_sets_pins_and_the_text_ap(counter: Any) -> None:
    card = CardFile.load(counter.adult.path)
    assert 6 <= len(counter.adult.signature_pin) <= 16
    assert counter.adult.signature_pin.isalnum()
    assert counter.adult.signature_pin == counter.adult.signature_pin.upper()
    assert len(counter.adult.authentication_pin) == 4
    assert counter.adult.authentication_pin.isdigit()
    assert card.pin_tries_left(PinReference.SIGNATURE) == 5
    assert card.pin_tries_left(PinReference.AUTHENTICATION) == 3
    assert card.text_ap is not None
    assert card.text_ap.info.address == "神奈川県鎌倉市御成町１８番１０号"


def test_it_links_the_signature_and_auth_certificates(counter: Any) -> None:
    link = CertificateLink.objects.get(source=counter.adult.signature_certificate)
    assert link.kind == CertificateLink.Kind.PAIR
    assert link.target == counter.adult.authentication_certificate


def test_it_ends_certificates_at_the_fifth_birthday(counter: Any) -> None:
    row = counter.adult.authentication_certificate
    assert row.not_after.date().year - row.not_before.date().year in (4, 5)
    assert (row.not_after.month, row.not_after.day) == (4, 1)


def test_it_gives_minors_a_five_year_card() -> None:
    born = datetime.date(2015, 6, 1)
    assert card_expiry(born, datetime.date(2025, 1, 1)) == datetime.date(2029, 6, 1)
    assert card_expiry(datetime.date(1980, 6, 1), datetime.date(2025, 1, 1)) == datetime.date(2034, 6, 1)


def test_it_refuses_a_card_for_the_dead(counter: Any, make_resident: Any) -> None:
    resident = make_resident()
    resident.status = resident.Status.DEAD
    resident.save()
    before = len(list(Path(settings.JLIS_CARDS_DIR).glob("*")))
    with pytest.raises(IssuanceError):
        issue_card(resident)
    assert len(list(Path(settings.JLIS_CARDS_DIR).glob("*"))) == before


def test_it_logs_the_issuance_without_attributes(counter: Any) -> None:
    event = LifeEvent.objects.filter(resident=counter.adult.card.resident, kind=LifeEvent.Kind.CARD_ISSUED).get()
    assert "花子" not in str(event.detail)
    assert event.detail["authentication_serial"] == str(counter.adult.authentication_certificate.serial)


def test_it_keeps_ca_keys_encrypted_on_disk(counter: Any) -> None:
    """Sealed in the platform's key-store format (scrypt, AES-256-GCM), 0600; no other passphrase opens them."""
    row = CertificateAuthority.objects.get(kind=CertificateKind.SIGNATURE)
    for file_name in (row.key_file, row.responder_key_file):
        path = Path(settings.JLIS_KEY_DIR) / file_name
        sealed = json.loads(path.read_bytes())
        assert sealed["format"] == "anchorid-keystore-v1"
        assert sealed["cipher"] == "AES-256-GCM"
        assert sealed["kdf"]["name"] == "scrypt"
        assert sealed["kdf"]["n"] >= 2**15
        assert b"PRIVATE KEY" not in path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        other = EncryptedFileKeyStore(path.parent, "another passphrase of some length")
        with pytest.raises(KeyUnreadable):
            other.public_key(file_name.removesuffix(".key.json"))


def test_it_computes_my_number_check_digits() -> None:
    # The published example of the check-digit rule: 12345678901 → 8.
    assert my_number_check_digit("12345678901") == "8"
