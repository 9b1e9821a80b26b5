"""Life events at the counter and the 24/7 hotline, each one database transaction.

What each does to the certificates (jpki-reference.md §3.2, §3.3; reasons are RFC 5280 CRLReason names with
the meanings J-LIS's CPS §4.9.9 gives them, per PocketSign):

- move / name change: the signature certificate is revoked ``affiliationChanged`` (its contents changed); the
  auth certificate stays good;
- next counter visit: a new key in the card's signature slot and a new signature certificate, linked old → new;
- death: both certificates revoked ``cessationOfOperation`` ("no longer needed"; the CPS mapping for death is
  UNCONFIRMED -- see docs/jlis.md), the card invalidated;
- lost card: ``certificateHold`` on both, never released: the resident needs a new card;
- PIN reset: a new PIN written into the card, retry counter full.

Each function checks everything before it changes anything, and raises :class:`LifeEventError` with a
message for the counter clerk.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from anchorid.jlis.crl import regenerate_crl
from anchorid.jlis.issuance import (
    SIGNATURE_CERTIFICATE_MIN_AGE,
    issue_signature_certificate,
    may_hold_signature_certificate,
    new_four_digit_pin,
    new_signature_pin,
    record_certificate,
    revoke_certificate,
)
from anchorid.jlis.models import Card, Certificate, CertificateKind, CertificateLink, LifeEvent, Resident
from anchorid.jlis.register import basic_four_info
from anchorid.jpki.attributes import InvalidAttribute
from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference, check_pin_format
from anchorid.jpki.errors import CardError, InvalidPinFormat

#: The reason J-LIS records for each event (docs/jlis.md).
REASON_ATTRIBUTES_CHANGED = Certificate.Reason.AFFILIATION_CHANGED
REASON_DEATH = Certificate.Reason.CESSATION_OF_OPERATION
REASON_LOST_CARD = Certificate.Reason.CERTIFICATE_HOLD
REASON_RENEWED = Certificate.Reason.SUPERSEDED


class LifeEventError(ValueError):
    """The counter refuses the event; nothing was changed."""


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return (now or timezone.now()).replace(microsecond=0)


def _locked(resident: Resident) -> Resident:
    locked = Resident.objects.select_for_update().get(pk=resident.pk)
    if not locked.is_alive:
        raise LifeEventError(f"{resident} has died: the register is closed")
    return locked


def current_card(resident: Resident) -> Card | None:
    return resident.cards.exclude(status=Card.Status.INVALID).order_by("-id").first()


def _good(resident: Resident, kind: CertificateKind | None = None) -> list[Certificate]:
    query = resident.certificates.filter(status=Certificate.Status.GOOD)
    if kind is not None:
        query = query.filter(kind=kind)
    return list(query.order_by("id"))


def _revoke_all(certificates: list[Certificate], reason: str, now: datetime.datetime) -> list[Certificate]:
    for certificate in certificates:
        revoke_certificate(certificate, reason, now)
    for kind in {c.kind for c in certificates}:
        regenerate_crl(kind, now=now)
    return certificates


def _log(resident: Resident, kind: str, now: datetime.datetime, **detail: object) -> None:
    LifeEvent.objects.create(resident=resident, kind=kind, occurred_at=now, detail=detail)


def _serials(certificates: list[Certificate]) -> list[str]:
    return [str(c.serial) for c in certificates]


def _check_attributes(resident: Resident) -> None:
    try:
        basic_four_info(resident)
    except InvalidAttribute as exc:
        raise LifeEventError(str(exc)) from None


@transaction.atomic
def move(
    resident: Resident, *, address: str, municipality_code: str | None = None, now: datetime.datetime | None = None
) -> list[Certificate]:
    """転居/転入: the register takes the new address; the signature certificate is revoked, auth stays."""
    now = _now(now)
    resident = _locked(resident)
    address = address.strip()
    if address == resident.address:
        raise LifeEventError("the new address is the registered address")
    resident.address = address
    if municipality_code:
        resident.municipality_code = municipality_code
    _check_attributes(resident)
    resident.save()
    revoked = _revoke_all(_good(resident, CertificateKind.SIGNATURE), REASON_ATTRIBUTES_CHANGED, now)
    _log(resident, LifeEvent.Kind.MOVE, now, revoked=_serials(revoked))
    return revoked


@transaction.atomic
def change_name(
    resident: Resident,
    *,
    family_name: str,
    given_name: str,
    family_name_kana: str = "",
    given_name_kana: str = "",
    now: datetime.datetime | None = None,
) -> list[Certificate]:
    """氏名変更 (marriage, …): like a move, the signature certificate is revoked affiliationChanged."""
    now = _now(now)
    resident = _locked(resident)
    family_name, given_name = family_name.strip(), given_name.strip()
    if not family_name or not given_name:
        raise LifeEventError("family and given name are both required")
    if (family_name, given_name) == (resident.family_name, resident.given_name):
        raise LifeEventError("the new name is the registered name")
    resident.family_name, resident.given_name = family_name, given_name
    resident.family_name_kana = family_name_kana.strip() or resident.family_name_kana
    resident.given_name_kana = given_name_kana.strip() or resident.given_name_kana
    _check_attributes(resident)
    resident.save()
    revoked = _revoke_all(_good(resident, CertificateKind.SIGNATURE), REASON_ATTRIBUTES_CHANGED, now)
    _log(resident, LifeEvent.Kind.NAME_CHANGE, now, revoked=_serials(revoked))
    return revoked


@transaction.atomic
def reissue_signature_certificate(resident: Resident, *, now: datetime.datetime | None = None) -> Certificate:
    """The next counter visit: a new signature key in the card and a certificate with the current attributes."""
    now = _now(now)
    resident = _locked(resident)
    card = current_card(resident)
    if card is None or card.status != Card.Status.ACTIVE:
        raise LifeEventError("no usable card: a suspended or invalid card needs a new card, not a new certificate")
    if not may_hold_signature_certificate(resident, timezone.localdate(now)):
        raise LifeEventError(f"no signature certificate under {SIGNATURE_CERTIFICATE_MIN_AGE}")
    auth = card.certificates.filter(kind=CertificateKind.AUTHENTICATION, status=Certificate.Status.GOOD).first()
    if auth is None:
        raise LifeEventError("the card's authentication certificate is not in force: issue a new card")
    _check_attributes(resident)
    try:
        card_file = CardFile.load(Path(card.card_file))
    except CardError as exc:
        raise LifeEventError(f"cannot open the card: {exc}") from None
    previous = resident.certificates.filter(kind=CertificateKind.SIGNATURE).order_by("-id").first()
    if previous is not None and previous.is_good:
        _revoke_all([previous], REASON_RENEWED, now)

    public_key = card_file.regenerate_key(KeySlot.SIGNATURE)
    issued = issue_signature_certificate(resident=resident, public_key=public_key, now=now, not_after=auth.not_after)
    new = record_certificate(issued, kind=CertificateKind.SIGNATURE, resident=resident, card=card, now=now)
    CertificateLink.objects.create(kind=CertificateLink.Kind.PAIR, source=new, target=auth)
    if previous is not None:
        CertificateLink.objects.create(kind=CertificateLink.Kind.SUCCESSOR, source=previous, target=new)
    card_file.install_signature_certificate(issued)
    _log(
        resident,
        LifeEvent.Kind.SIGNATURE_REISSUED,
        now,
        card=card.pk,
        old=str(previous.serial) if previous else None,
        new=str(new.serial),
    )
    return new


@transaction.atomic
def record_death(
    resident: Resident, *, died_on: datetime.date | None = None, now: datetime.datetime | None = None
) -> list[Certificate]:
    """死亡: both certificates revoked, every card invalidated, the register closed."""
    now = _now(now)
    resident = _locked(resident)
    resident.status = Resident.Status.DEAD
    resident.died_on = died_on or timezone.localdate(now)
    resident.save()
    resident.cards.exclude(status=Card.Status.INVALID).update(status=Card.Status.INVALID)
    revoked = _revoke_all(_good(resident), REASON_DEATH, now)
    _log(resident, LifeEvent.Kind.DEATH, now, revoked=_serials(revoked))
    return revoked


@transaction.atomic
def hold_lost_card(resident: Resident, *, now: datetime.datetime | None = None) -> list[Certificate]:
    """The 24/7 hotline (一時保留): certificateHold on every certificate in force; never released."""
    now = _now(now)
    resident = _locked(resident)
    card = current_card(resident)
    if card is None or card.status != Card.Status.ACTIVE:
        raise LifeEventError("no card in use to suspend")
    card.status = Card.Status.SUSPENDED
    card.save(update_fields=["status"])
    held = _revoke_all(
        list(card.certificates.filter(status=Certificate.Status.GOOD).order_by("id")), REASON_LOST_CARD, now
    )
    _log(resident, LifeEvent.Kind.HOLD, now, card=card.pk, held=_serials(held))
    return held


@transaction.atomic
def reset_pin(
    resident: Resident, slot: KeySlot, *, new_pin: str | None = None, now: datetime.datetime | None = None
) -> str:
    """暗証番号の初期化 at the counter: a new PIN in the card, its retry counter full. Returns the PIN."""
    now = _now(now)
    resident = _locked(resident)
    card = current_card(resident)
    if card is None or card.status != Card.Status.ACTIVE:
        raise LifeEventError("no card in use")
    reference = PinReference.of_slot(slot)
    new_pin = new_pin or (new_signature_pin() if slot is KeySlot.SIGNATURE else new_four_digit_pin())
    try:
        new_pin = check_pin_format(reference, new_pin)
        card_file = CardFile.load(Path(card.card_file))
    except InvalidPinFormat as exc:
        raise LifeEventError(str(exc)) from None
    except CardError as exc:
        raise LifeEventError(f"cannot open the card: {exc}") from None
    card_file.reset_pin(slot, new_pin)
    _log(resident, LifeEvent.Kind.PIN_RESET, now, card=card.pk, slot=slot.value)
    return new_pin
