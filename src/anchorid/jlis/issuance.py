"""Card issuance at the counter: a card manufactured with its keys inside, both certificates, PINs, text AP.

jpki-reference.md §1.2 and §3.3: certificates run to the fifth birthday after issuance but never past the
card; the card runs to the 10th birthday after issuance (issued at 18 or older) or the 5th (younger); no
signature certificate for under-15s. A new card replaces the old one: the old card is invalidated, its
certificates still in force are revoked as ``superseded``, and each new certificate is linked to the one it
replaces (証明書新旧紐付け情報).
"""

from __future__ import annotations

import contextlib
import datetime
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils import timezone

from anchorid.jlis import conf, ocsp
from anchorid.jlis.authority import load_authority, new_serial
from anchorid.jlis.crl import regenerate_crl
from anchorid.jlis.models import Card, Certificate, CertificateKind, CertificateLink, LifeEvent, Resident
from anchorid.jlis.register import age_on, basic_four_info, nth_birthday_after
from anchorid.jpki import profiles
from anchorid.jpki.cardfile import CardFile, KeySlot

#: Under this age no signature certificate is issued (§1.2).
SIGNATURE_CERTIFICATE_MIN_AGE = 15
#: From this age at issuance the card runs 10 birthdays, before it 5 (§3.3).
ADULT_CARD_AGE = 18
ADULT_CARD_BIRTHDAYS = 10
MINOR_CARD_BIRTHDAYS = 5
#: The signature password: 6-16 of A-Z0-9 on the card; the counter hands out 8 random ones.
SIGNATURE_PIN_ALPHABET = string.ascii_uppercase + string.digits
SIGNATURE_PIN_LENGTH = 8
FOUR_DIGIT_PIN_LENGTH = 4


class IssuanceError(ValueError):
    """The counter refuses: the message says why. Nothing was changed."""


@dataclass(frozen=True)
class IssuedCard:
    card: Card
    path: Path
    signature_pin: str
    authentication_pin: str
    signature_certificate: Certificate | None
    authentication_certificate: Certificate


def new_signature_pin() -> str:
    return "".join(secrets.choice(SIGNATURE_PIN_ALPHABET) for _ in range(SIGNATURE_PIN_LENGTH))


def new_four_digit_pin() -> str:
    return "".join(secrets.choice(string.digits) for _ in range(FOUR_DIGIT_PIN_LENGTH))


def card_expiry(birth_date: datetime.date, issued_on: datetime.date) -> datetime.date:
    birthdays = ADULT_CARD_BIRTHDAYS if age_on(birth_date, issued_on) >= ADULT_CARD_AGE else MINOR_CARD_BIRTHDAYS
    return nth_birthday_after(birth_date, issued_on, birthdays)


def may_hold_signature_certificate(resident: Resident, day: datetime.date) -> bool:
    return age_on(resident.birth_date, day) >= SIGNATURE_CERTIFICATE_MIN_AGE


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _subject_cn(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def record_certificate(
    certificate: x509.Certificate, *, kind: CertificateKind, resident: Resident, card: Card, now: datetime.datetime
) -> Certificate:
    """Store an issued certificate with its pre-signed OCSP response."""
    row = Certificate(
        authority_id=load_authority(kind).pk,
        kind=kind,
        serial=certificate.serial_number,
        der=_der(certificate),
        subject_cn=_subject_cn(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        resident=resident,
        card=card,
    )
    ocsp.presign(row, now=now)
    row.save()
    return row


def issue_signature_certificate(
    *, resident: Resident, public_key: rsa.RSAPublicKey, now: datetime.datetime, not_after: datetime.datetime
) -> x509.Certificate:
    authority = load_authority(CertificateKind.SIGNATURE)
    return profiles.build_signature_certificate(
        ca_certificate=authority.certificate,
        ca_key=authority.key,
        public_key=public_key,
        info=basic_four_info(resident),
        serial=new_serial(),
        not_before=now,
        not_after=not_after,
        locality=conf.locality(),
    )


def _link(kind: str, source: Certificate, target: Certificate) -> None:
    CertificateLink.objects.create(kind=kind, source=source, target=target)


def _retire_previous_cards(resident: Resident, new_card: Card, now: datetime.datetime) -> dict[str, Certificate]:
    """Invalidate earlier cards; revoke what is still good as superseded. Returns the latest old cert per kind."""
    latest: dict[str, Certificate] = {}
    for old_card in resident.cards.exclude(pk=new_card.pk).exclude(status=Card.Status.INVALID):
        old_card.status = Card.Status.INVALID
        old_card.save(update_fields=["status"])
    for old in resident.certificates.exclude(card=new_card).order_by("id"):
        latest[old.kind] = old
        if old.is_good:
            revoke_certificate(old, Certificate.Reason.SUPERSEDED, now)
    return latest


def revoke_certificate(certificate: Certificate, reason: str, now: datetime.datetime) -> None:
    """Mark revoked and re-sign its stored OCSP response (the caller regenerates the CRL)."""
    certificate.status = Certificate.Status.REVOKED
    certificate.revocation_reason = reason
    certificate.revoked_at = now
    ocsp.presign(certificate, now=now)
    certificate.save(update_fields=["status", "revocation_reason", "revoked_at", "ocsp_response", "ocsp_next_update"])


def issue_card(
    resident: Resident,
    *,
    cards_dir: Path | None = None,
    signature_pin: str | None = None,
    authentication_pin: str | None = None,
    now: datetime.datetime | None = None,
) -> IssuedCard:
    """Hand a new card to ``resident``: keys made in the card, certificates issued, PINs set, text AP written."""
    now = (now or timezone.now()).replace(microsecond=0)
    today = timezone.localdate(now)
    if not resident.is_alive:
        raise IssuanceError("no card for a resident who has died")
    if resident.birth_date > today:
        raise IssuanceError("birth date is in the future")
    signature_pin = signature_pin or new_signature_pin()
    authentication_pin = authentication_pin or new_four_digit_pin()
    directory = Path(cards_dir or conf.cards_dir())
    path = (directory / f"resident-{resident.pk}-{secrets.token_hex(4)}.card.json").resolve()
    card_file = CardFile.manufacture(path)
    try:
        with transaction.atomic():
            return _issue_card(resident, card_file, path, signature_pin, authentication_pin, now, today)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise


def _issue_card(
    resident: Resident,
    card_file: CardFile,
    path: Path,
    signature_pin: str,
    authentication_pin: str,
    now: datetime.datetime,
    today: datetime.date,
) -> IssuedCard:
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    expires_on = card_expiry(resident.birth_date, today)
    card = Card.objects.create(resident=resident, card_file=str(path), issued_on=today, expires_on=expires_on)
    previous = _retire_previous_cards(resident, card, now)
    not_after = profiles.certificate_not_after(resident.birth_date, today, expires_on)

    sign_ca = load_authority(CertificateKind.SIGNATURE)
    auth_ca = load_authority(CertificateKind.AUTHENTICATION)
    auth_x509 = profiles.build_auth_certificate(
        ca_certificate=auth_ca.certificate,
        ca_key=auth_ca.key,
        public_key=card_file.public_key(KeySlot.AUTHENTICATION),
        subject_cn=profiles.new_opaque_cn(),
        serial=new_serial(),
        not_before=now,
        not_after=not_after,
    )
    auth = record_certificate(auth_x509, kind=CertificateKind.AUTHENTICATION, resident=resident, card=card, now=now)
    sign_x509: x509.Certificate | None = None
    sign: Certificate | None = None
    if may_hold_signature_certificate(resident, today):
        sign_x509 = issue_signature_certificate(
            resident=resident, public_key=card_file.public_key(KeySlot.SIGNATURE), now=now, not_after=not_after
        )
        sign = record_certificate(sign_x509, kind=CertificateKind.SIGNATURE, resident=resident, card=card, now=now)
        _link(CertificateLink.Kind.PAIR, sign, auth)
    for new in (sign, auth):
        if new is not None and new.kind in previous:
            _link(CertificateLink.Kind.SUCCESSOR, previous[new.kind], new)

    card_file.personalize(
        signature_certificate=sign_x509,
        signature_ca=sign_ca.certificate,
        authentication_certificate=auth_x509,
        authentication_ca=auth_ca.certificate,
        signature_pin=signature_pin,
        authentication_pin=authentication_pin,
    )
    # The text AP PIN is the same four digits as the auth PIN, as most residents choose (our choice).
    card_file.personalize_text_ap(my_number=resident.my_number, info=basic_four_info(resident), pin=authentication_pin)
    LifeEvent.objects.create(
        resident=resident,
        kind=LifeEvent.Kind.CARD_ISSUED,
        occurred_at=now,
        detail={
            "card": card.pk,
            "signature_serial": str(sign.serial) if sign else None,
            "authentication_serial": str(auth.serial),
        },
    )
    if previous:
        for kind in {c.kind for c in previous.values()}:
            regenerate_crl(kind, now=now)
    return IssuedCard(card, path, signature_pin, authentication_pin, sign, auth)
