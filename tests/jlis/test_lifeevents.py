"""Life events: each revokes exactly what J-LIS revokes, with the reason, in one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509

from anchorid.jlis import lifeevents
from anchorid.jlis.issuance import issue_card
from anchorid.jlis.models import Card, Certificate, CertificateKind, CertificateLink, LifeEvent, Resident
from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference

pytestmark = pytest.mark.django_db

NEW_ADDRESS = "神奈川県鎌倉市小町一丁目２番３号"


def _reload(row: Certificate) -> Certificate:
    return Certificate.objects.get(pk=row.pk)


def test_it_revokes_only_the_signature_certificate_on_a_move(fresh: Any) -> None:
    lifeevents.move(fresh.card.resident, address=NEW_ADDRESS)
    sign, auth = _reload(fresh.signature_certificate), _reload(fresh.authentication_certificate)
    assert (sign.status, sign.revocation_reason) == ("revoked", "affiliationChanged")
    assert sign.revoked_at is not None
    assert auth.status == "good"
    assert Resident.objects.get(pk=fresh.card.resident.pk).address == NEW_ADDRESS
    assert LifeEvent.objects.filter(resident=fresh.card.resident, kind=LifeEvent.Kind.MOVE).exists()


def test_it_revokes_the_signature_certificate_on_a_name_change(fresh: Any) -> None:
    lifeevents.change_name(fresh.card.resident, family_name="鶴岡", given_name="花子", family_name_kana="ツルオカ")
    assert _reload(fresh.signature_certificate).revocation_reason == "affiliationChanged"
    assert _reload(fresh.authentication_certificate).status == "good"
    assert Resident.objects.get(pk=fresh.card.resident.pk).family_name_kana == "ツルオカ"


def test_it_refuses_a_move_to_the_same_address_and_changes_nothing(fresh: Any) -> None:
    with pytest.raises(lifeevents.LifeEventError):
        lifeevents.move(fresh.card.resident, address=fresh.card.resident.address)
    assert _reload(fresh.signature_certificate).status == "good"


def test_it_refuses_an_overlong_address_and_changes_nothing(fresh: Any) -> None:
    with pytest.raises(lifeevents.LifeEventError):
        lifeevents.move(fresh.card.resident, address="神奈川県鎌倉市" + "長" * 200)
    assert _reload(fresh.signature_certificate).status == "good"
    assert Resident.objects.get(pk=fresh.card.resident.pk).address == fresh.card.resident.address


def test_it_issues_a_new_signature_certificate_at_the_next_visit(fresh: Any) -> None:
    resident = fresh.card.resident
    lifeevents.move(resident, address=NEW_ADDRESS)
    old_key = CardFile.load(fresh.path).public_key(KeySlot.SIGNATURE)
    new = lifeevents.reissue_signature_certificate(resident)
    card = CardFile.load(fresh.path)
    assert card.public_key(KeySlot.SIGNATURE) != old_key
    assert card.certificate_der(KeySlot.SIGNATURE) == bytes(new.der)
    assert new.status == "good"
    assert CertificateLink.objects.filter(kind="successor", source=fresh.signature_certificate, target=new).exists()
    assert CertificateLink.objects.filter(kind="pair", source=new, target=fresh.authentication_certificate).exists()
    issued = x509.load_der_x509_certificate(bytes(new.der))
    assert issued.not_valid_after_utc <= fresh.authentication_certificate.not_after


def test_it_supersedes_a_good_signature_certificate_on_renewal(fresh: Any) -> None:
    lifeevents.reissue_signature_certificate(fresh.card.resident)
    assert _reload(fresh.signature_certificate).revocation_reason == "superseded"


def test_it_refuses_a_signature_certificate_under_15(make_resident: Any) -> None:
    import datetime

    child = make_resident(birth_date=datetime.date.today() - datetime.timedelta(days=10 * 365))
    issue_card(child)
    with pytest.raises(lifeevents.LifeEventError, match="under 15"):
        lifeevents.reissue_signature_certificate(child)


def test_it_revokes_both_certificates_on_death(fresh: Any) -> None:
    lifeevents.record_death(fresh.card.resident)
    for row in (fresh.signature_certificate, fresh.authentication_certificate):
        assert _reload(row).revocation_reason == lifeevents.REASON_DEATH
    assert Card.objects.get(pk=fresh.card.pk).status == Card.Status.INVALID
    with pytest.raises(lifeevents.LifeEventError):
        lifeevents.move(fresh.card.resident, address=NEW_ADDRESS)


def test_it_holds_both_certificates_for_a_lost_card_and_never_releases(fresh: Any) -> None:
    resident = fresh.card.resident
    lifeevents.hold_lost_card(resident)
    for row in (fresh.signature_certificate, fresh.authentication_certificate):
        assert _reload(row).revocation_reason == "certificateHold"
    assert Card.objects.get(pk=fresh.card.pk).status == Card.Status.SUSPENDED
    with pytest.raises(lifeevents.LifeEventError, match="new card"):
        lifeevents.reissue_signature_certificate(resident)
    with pytest.raises(lifeevents.LifeEventError):
        lifeevents.hold_lost_card(resident)


def test_it_links_old_and_new_certificates_when_a_new_card_replaces_a_lost_one(fresh: Any) -> None:
    resident = fresh.card.resident
    lifeevents.hold_lost_card(resident)
    replacement = issue_card(resident)
    assert Card.objects.get(pk=fresh.card.pk).status == Card.Status.INVALID
    assert _reload(fresh.authentication_certificate).revocation_reason == "certificateHold"
    for old, new in (
        (fresh.signature_certificate, replacement.signature_certificate),
        (fresh.authentication_certificate, replacement.authentication_certificate),
    ):
        assert CertificateLink.objects.filter(kind="successor", source=old, target=new).exists()


def test_it_resets_a_blocked_pin_at_the_counter(fresh: Any) -> None:
    card = CardFile.load(fresh.path)
    for _ in range(5):
        card.try_pin(PinReference.SIGNATURE, b"WRONG0")
    assert CardFile.load(fresh.path).pin_is_blocked(PinReference.SIGNATURE)
    pin = lifeevents.reset_pin(fresh.card.resident, KeySlot.SIGNATURE)
    card = CardFile.load(fresh.path)
    assert card.pin_tries_left(PinReference.SIGNATURE) == 5
    assert card.try_pin(PinReference.SIGNATURE, pin.encode())
    assert _reload(fresh.signature_certificate).status == "good"


def test_it_refuses_a_badly_formed_new_pin(fresh: Any) -> None:
    with pytest.raises(lifeevents.LifeEventError):
        lifeevents.reset_pin(fresh.card.resident, KeySlot.AUTHENTICATION, new_pin="12a4")
    assert CardFile.load(fresh.path).try_pin(PinReference.AUTHENTICATION, fresh.authentication_pin.encode())


def test_it_counts_revocations_per_kind(fresh: Any) -> None:
    revoked = lifeevents.move(fresh.card.resident, address=NEW_ADDRESS)
    assert [c.kind for c in revoked] == [CertificateKind.SIGNATURE]
