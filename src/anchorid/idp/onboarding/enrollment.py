"""One person, one account: create the account for a verified card, or lead the person back to theirs.

A verified signature certificate ends in exactly one of three outcomes:

- ``already_registered``: this very certificate (issuer + serial) already anchors an account;
- ``recovered``: the same person with a renewed or re-issued card -- found by jlis's old → new certificate links
  (survives a move or a name change) or by identical four attributes (the person key) -- the new certificate
  becomes the account's current anchor (the old one is kept, no longer current), the attributes are refreshed,
  and both are audited;
- ``created``: a new account, its anchor certificate, the attributes encrypted, an audit entry.

The database enforces it, not this code alone: ``AnchorCertificate`` is unique per (issuer, serial), one current
anchor per account, ``Account.person_key`` unique. Concurrent onboardings of one person race into those
constraints: on SQLite the writes are serialised (``BEGIN IMMEDIATE``); on PostgreSQL the loser's INSERT waits
for the winner's commit and fails with ``IntegrityError``, and the attempt is re-run, now finding the winner's
account (``already_registered``).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from anchorid.idp import jlis_client
from anchorid.idp.accounts import attribute_crypto
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.adoption.counting import record_onboarding
from anchorid.idp.assurance import Level
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.onboarding import refusals
from anchorid.idp.onboarding.refusals import Refusal
from anchorid.idp.onboarding.verification import VerifiedCard
from anchorid.jpki.attributes import BasicFourInfo

VERIFIED_HOW = "jpki-signature-certificate"
#: How many times an attempt is re-run after losing a uniqueness race (once is enough: the winner has committed).
MAX_ATTEMPTS = 3


class Outcome(enum.StrEnum):
    CREATED = "created"
    RECOVERED = "recovered"
    ALREADY_REGISTERED = "already_registered"


class Method(enum.StrEnum):
    """The audit log's ``method`` of an onboarding."""

    CARD = "card"
    CARD_CROSS_DEVICE = "card_cross_device"


@dataclass(frozen=True, slots=True)
class Enrollment:
    outcome: Outcome
    account: Account


def audit_subject(account: Account) -> str:
    return str(account.pk)


def _anchored_account(verified: VerifiedCard) -> Account | None:
    anchor = (
        AnchorCertificate.objects.select_related("account")
        .filter(issuer_fingerprint=verified.issuer_fingerprint, serial=str(verified.serial))
        .first()
    )
    return anchor.account if anchor is not None else None


def linked_serials(verified: VerifiedCard) -> frozenset[int]:
    """Earlier certificates of the same succession at jlis (renewals, new cards); fail closed if jlis is away."""
    try:
        links = jlis_client.certificate_links(verified.serial)
    except (jlis_client.JlisUnavailable, jlis_client.JlisRefused) as error:
        raise Refusal(refusals.JLIS_UNAVAILABLE, f"certificate links: {error}") from None
    return links.serials - {verified.serial}


def _signature_root_fingerprints() -> list[str]:
    return [jlis_client.certificate_fingerprint(root) for root in jlis_client.trust_anchors().signature]


def _find_person(verified: VerifiedCard, person_key: str, earlier: frozenset[int]) -> Account | None:
    account = Account.objects.select_for_update().filter(person_key=person_key).first()
    if account is not None or not earlier:
        return account
    anchor = AnchorCertificate.objects.filter(
        serial__in=[str(serial) for serial in earlier], issuer_fingerprint__in=_signature_root_fingerprints()
    ).first()
    if anchor is None:
        return None
    return Account.objects.select_for_update().get(pk=anchor.account_id)


def _new_anchor(account: Account, verified: VerifiedCard) -> AnchorCertificate:
    return AnchorCertificate.objects.create(
        account=account,
        issuer_fingerprint=verified.issuer_fingerprint,
        serial=str(verified.serial),
        fingerprint=verified.fingerprint,
        not_before=verified.certificate.not_valid_before_utc,
        not_after=verified.certificate.not_valid_after_utc,
        current=True,
        status=AnchorCertificate.Status.GOOD,
        checked_at=verified.checked_at,
        anchored_at=verified.checked_at,
    )


def changed_attribute_names(old: BasicFourInfo | None, new: BasicFourInfo) -> list[str]:
    """Which of the four attributes differ, by the audit log's names (never their values)."""
    if old is None:
        return ["name", "address", "birthdate", "gender"]
    changed = []
    if (old.name, old.name_substitutes) != (new.name, new.name_substitutes):
        changed.append("name")
    if (old.address, old.address_substitutes) != (new.address, new.address_substitutes):
        changed.append("address")
    if old.birth_date != new.birth_date:
        changed.append("birthdate")
    if old.gender != new.gender:
        changed.append("gender")
    return changed


def _onboarding_details(verified: VerifiedCard, method: Method, *, recovered: bool) -> dict[str, object]:
    return {
        "method": method.value,
        "certificate_fingerprint": verified.fingerprint,
        "assurance": Level.CARD.acr,
        "account_recovered": recovered,
    }


def _recover(account: Account, verified: VerifiedCard, method: Method) -> Enrollment:
    """Re-anchor: the new certificate becomes current, the old one stays on record, attributes refreshed."""
    try:
        previous = account.attributes()
    except attribute_crypto.AttributeDecryptionError:
        previous = None
    account.anchors.filter(current=True).update(current=False)
    _new_anchor(account, verified)
    info = verified.parsed.info
    account.set_attributes(info, verified_how=VERIFIED_HOW, verified_at=verified.checked_at)
    account.save()
    subject = audit_subject(account)
    append(EventType.ONBOARDING, subject, subject, _onboarding_details(verified, method, recovered=True))
    changed = changed_attribute_names(previous, info)
    if changed:
        append(
            EventType.ATTRIBUTE_CHANGE,
            subject,
            subject,
            {"attributes": changed, "source": "card_renewal", "stale": False},
        )
    return Enrollment(Outcome.RECOVERED, account)


def _create(verified: VerifiedCard, method: Method) -> Enrollment:
    account = Account(id=uuid.uuid4(), kind=Account.Kind.RESIDENT)
    account.handle = f"resident-{account.id.hex}"
    account.set_unusable_password()
    account.set_attributes(verified.parsed.info, verified_how=VERIFIED_HOW, verified_at=verified.checked_at)
    account.save(force_insert=True)
    _new_anchor(account, verified)
    info = verified.parsed.info
    record_onboarding(info.birth_date, info.gender.value, verified.checked_at)  # band and sex only, not the date
    subject = audit_subject(account)
    append(EventType.ONBOARDING, subject, subject, _onboarding_details(verified, method, recovered=False))
    return Enrollment(Outcome.CREATED, account)


def _enroll_once(verified: VerifiedCard, person_key: str, earlier: frozenset[int], method: Method) -> Enrollment:
    with transaction.atomic():
        anchored = _anchored_account(verified)
        if anchored is not None:
            return Enrollment(Outcome.ALREADY_REGISTERED, anchored)
        account = _find_person(verified, person_key, earlier)
        if account is not None:
            return _recover(account, verified, method)
        return _create(verified, method)


def enroll(verified: VerifiedCard, method: Method) -> Enrollment:
    """Apply the one-person rule to a verified card (see the module docstring). Call it outside a transaction."""
    anchored = _anchored_account(verified)
    if anchored is not None:  # the common return visit: no call to jlis needed
        return Enrollment(Outcome.ALREADY_REGISTERED, anchored)
    earlier = linked_serials(verified)
    person_key = attribute_crypto.person_key(verified.parsed.info)
    for attempt in range(MAX_ATTEMPTS):
        try:
            return _enroll_once(verified, person_key, earlier, method)
        except IntegrityError:
            # Another onboarding of this person committed first; the next attempt finds its account.
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
