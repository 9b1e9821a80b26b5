"""Shared fixtures for the jpki tests. RSA keys are slow: generate them once per session, copy card files."""

from __future__ import annotations

import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from anchorid.jpki.attributes import BasicFourInfo, Gender
from anchorid.jpki.cardfile import CardFile, KeySlot

TEST_HOLDER = BasicFourInfo.plain(
    "鎌倉\u3000花子", datetime.date(1990, 1, 2), Gender.FEMALE, "神奈川県鎌倉市御成町１８番１０号"
)


@dataclass(frozen=True)
class CardSecrets:
    """The PINs and text-AP data the test cards are personalised with."""

    signature_pin: str = "ANCHOR123"
    authentication_pin: str = "1234"
    text_ap_pin: str = "5678"
    my_number: str = "123456789018"
    info: BasicFourInfo = TEST_HOLDER


@pytest.fixture(scope="session")
def card_secrets() -> CardSecrets:
    return CardSecrets()


def issue_card_certificate(pki: JpkiPki, card: CardFile, slot: KeySlot, info: BasicFourInfo) -> x509.Certificate:
    """A certificate of the JPKI profile (anchorid.jpki.profiles) for the card's own key in ``slot``."""
    from anchorid.jpki import profiles

    issued = pki.issued_at
    not_after = profiles.certificate_not_after(info.birth_date, issued.date())
    if slot is KeySlot.SIGNATURE:
        return profiles.build_signature_certificate(
            ca_certificate=pki.signature_ca,
            ca_key=pki.signature_ca_key,
            public_key=card.public_key(slot),
            info=info,
            serial=x509.random_serial_number(),
            not_before=issued,
            not_after=not_after,
            locality="Kamakura-shi",
            prefecture="Kanagawa-ken",
        )
    return profiles.build_auth_certificate(
        ca_certificate=pki.auth_ca,
        ca_key=pki.auth_ca_key,
        public_key=card.public_key(slot),
        subject_cn=profiles.new_opaque_cn(),
        serial=x509.random_serial_number(),
        not_before=issued,
        not_after=not_after,
    )


@pytest.fixture(scope="session")
def card_templates(
    tmp_path_factory: pytest.TempPathFactory, pki: JpkiPki, card_secrets: CardSecrets
) -> dict[str, Path]:
    """Personalised card files to copy: "adult" (both certificates) and "child" (no signature certificate)."""
    folder = tmp_path_factory.mktemp("card-templates")
    templates = {}
    for kind in ("adult", "child"):
        card = CardFile.manufacture(folder / f"{kind}.json")
        card.personalize(
            signature_certificate=(
                issue_card_certificate(pki, card, KeySlot.SIGNATURE, card_secrets.info) if kind == "adult" else None
            ),
            signature_ca=pki.signature_ca,
            authentication_certificate=issue_card_certificate(pki, card, KeySlot.AUTHENTICATION, card_secrets.info),
            authentication_ca=pki.auth_ca,
            signature_pin=card_secrets.signature_pin,
            authentication_pin=card_secrets.authentication_pin,
        )
        card.personalize_text_ap(my_number=card_secrets.my_number, info=card_secrets.info, pin=card_secrets.text_ap_pin)
        templates[kind] = card.path
    return templates


@pytest.fixture
def card_path(tmp_path: Path, card_templates: dict[str, Path]) -> Path:
    """A fresh copy of a personalised adult card (both certificates, all PINs with full counters)."""
    path = tmp_path / "card.json"
    shutil.copy2(card_templates["adult"], path)
    return path


@pytest.fixture
def child_card_path(tmp_path: Path, card_templates: dict[str, Path]) -> Path:
    """A fresh copy of a card with no signature certificate (an under-15 resident)."""
    path = tmp_path / "child-card.json"
    shutil.copy2(card_templates["child"], path)
    return path


# --- certificate-profile and verification fixtures (tests/jpki/test_{profiles,certificates,trust,verify}.py) ---


@dataclass(frozen=True)
class JpkiPki:
    """A simulated JPKI: both CAs (shaped like the real roots), an OCSP responder, one resident's certificates."""

    signature_ca_key: rsa.RSAPrivateKey
    signature_ca: x509.Certificate
    auth_ca_key: rsa.RSAPrivateKey
    auth_ca: x509.Certificate
    responder_key: rsa.RSAPrivateKey
    signature_responder: x509.Certificate
    resident_key: rsa.RSAPrivateKey
    signature_certificate: x509.Certificate
    auth_certificate: x509.Certificate
    rogue_signature_ca_key: rsa.RSAPrivateKey
    rogue_signature_ca: x509.Certificate
    info: BasicFourInfo
    issued_at: datetime.datetime


PKI_INFO = BasicFourInfo(
    "髙橋\u3000一郎",
    datetime.date(1988, 2, 29),
    Gender.MALE,
    "神奈川県鎌倉市御成町１８番１０号",
    "10000",
    "0" * 16,
)


@pytest.fixture(scope="session")
def pki_keys() -> list[rsa.RSAPrivateKey]:
    """Five RSA-2048 keys, generated once per session (key generation is the slow part)."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(5)]


@pytest.fixture(scope="session")
def pki(pki_keys: list[rsa.RSAPrivateKey]) -> JpkiPki:
    from anchorid.jpki import profiles

    signature_ca_key, auth_ca_key, responder_key, resident_key, rogue_key = pki_keys
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    ca_from, ca_to = now - datetime.timedelta(days=365), now + datetime.timedelta(days=3650)
    signature_ca = profiles.build_ca_certificate(
        profiles.CertKind.SIGNATURE, signature_ca_key, serial=0x067C6A21, not_before=ca_from, not_after=ca_to
    )
    auth_ca = profiles.build_ca_certificate(
        profiles.CertKind.AUTHENTICATION, auth_ca_key, serial=0x06D18006, not_before=ca_from, not_after=ca_to
    )
    rogue_ca = profiles.build_ca_certificate(
        profiles.CertKind.SIGNATURE, rogue_key, serial=1, not_before=ca_from, not_after=ca_to
    )
    issued = now - datetime.timedelta(days=30)
    not_after = profiles.certificate_not_after(PKI_INFO.birth_date, issued.date())
    signature_certificate = profiles.build_signature_certificate(
        ca_certificate=signature_ca,
        ca_key=signature_ca_key,
        public_key=resident_key.public_key(),
        info=PKI_INFO,
        serial=1001,
        not_before=issued,
        not_after=not_after,
        locality="Kamakura-shi",
        prefecture="Kanagawa-ken",
    )
    auth_certificate = profiles.build_auth_certificate(
        ca_certificate=auth_ca,
        ca_key=auth_ca_key,
        public_key=resident_key.public_key(),
        subject_cn=profiles.new_opaque_cn(),
        serial=2001,
        not_before=issued,
        not_after=not_after,
    )
    responder = profiles.build_ocsp_responder_certificate(
        ca_certificate=signature_ca,
        ca_key=signature_ca_key,
        public_key=responder_key.public_key(),
        serial=9001,
        not_before=ca_from,
        not_after=ca_to,
    )
    return JpkiPki(
        signature_ca_key=signature_ca_key,
        signature_ca=signature_ca,
        auth_ca_key=auth_ca_key,
        auth_ca=auth_ca,
        responder_key=responder_key,
        signature_responder=responder,
        resident_key=resident_key,
        signature_certificate=signature_certificate,
        auth_certificate=auth_certificate,
        rogue_signature_ca_key=rogue_key,
        rogue_signature_ca=rogue_ca,
        info=PKI_INFO,
        issued_at=issued,
    )
