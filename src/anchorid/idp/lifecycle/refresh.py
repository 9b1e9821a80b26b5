"""The consented refresh: after a move or a name change, current attributes from J-LIS, and a new anchor.

Runs inside each sweep for accounts that (1) hold a standing refresh consent and (2) either have attributes marked
stale because the anchor was revoked ``affiliationChanged``, or still hang on a revoked anchor
(``affiliationChanged`` or ``superseded``) that jlis may meanwhile have linked to a new certificate. For each:

1. ``jlis_client.current_attributes(serial)`` (jlis checks the consent it holds);
2. ``jlis_client.certificate_links(serial)``: when the succession ends in a *good* certificate other than the
   anchor, and the certificate jlis sent with the attributes is exactly that one and chains to a trusted JPKI
   signature root, the account is re-anchored on it (the old anchor stays on record, no longer current);
3. in one transaction: the account's attributes (``set_attributes``: the stale mark goes; ``person_key`` follows
   the new attributes -- if another account already holds that key the refresh is refused and counted as an
   error, nothing changed), the audit entries (attribute names, never values), the notice, and
   ``anchorid.idp.ssf.emit.emit_claims_change`` with the new claim values, so the outbox row commits with the
   change or not at all.

A failure for one account (jlis unreachable, consent withdrawn at jlis, a certificate that does not verify) is
counted and left for the next sweep; other accounts go on.
"""

from __future__ import annotations

import base64
import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from django.db import IntegrityError, transaction
from django.utils import timezone

from anchorid.idp import jlis_client
from anchorid.idp.accounts import attribute_crypto
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.keystore import KeyStoreError
from anchorid.idp.lifecycle import notices
from anchorid.idp.lifecycle.marking import ACTOR, MOVED, SUPERSEDED, _emit
from anchorid.idp.lifecycle.models import Notice, RefreshConsent
from anchorid.idp.onboarding.enrollment import changed_attribute_names
from anchorid.jpki.attributes import BasicFourInfo, Gender, InvalidAttribute

log = logging.getLogger(__name__)
VERIFIED_HOW = "jlis-current-attributes"
#: At most this many accounts are refreshed per sweep (two jlis calls each); the rest wait for the next sweep.
MAX_PER_SWEEP = 500
#: Consenting accounts looked at per query.
CHUNK = 500
#: OIDC claims that follow from each of the four attributes (what services are told when it changes).
CLAIMS_OF = {
    "name": ["name"],
    "address": ["address", "resident_of"],
    "birthdate": ["birthdate", "age_over_15", "age_over_18", "age_over_65"],
    "gender": ["gender"],
}


class RefreshFailed(Exception):
    """This account could not be refreshed now; ``code`` is short and holds no personal data."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class RefreshOutcome:
    refreshed: int = 0
    reanchored: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


def info_from_jlis(attributes: Any) -> BasicFourInfo:
    """The four attributes as jlis's operator API sends them (RefreshFailed if malformed)."""
    try:
        return BasicFourInfo(
            name=str(attributes["name"]),
            name_substitutes=str(attributes.get("name_substitutes", "")),
            birth_date=datetime.date.fromisoformat(str(attributes["birth_date"])),
            gender=Gender(str(attributes["gender"])),
            address=str(attributes["address"]),
            address_substitutes=str(attributes.get("address_substitutes", "")),
        )
    except (KeyError, TypeError, ValueError, InvalidAttribute):
        raise RefreshFailed("malformed_attributes") from None


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _successor(anchor: AnchorCertificate, answer: dict[str, Any]) -> x509.Certificate | None:
    """The new signature certificate to re-anchor on, when jlis links one; None when there is none yet."""
    links = jlis_client.certificate_links(int(anchor.serial))
    latest = links.latest
    if latest.serial == int(anchor.serial) or latest.status != "good" or int(anchor.serial) not in links.serials:
        return None
    encoded = answer.get("current_signature_certificate")
    if not isinstance(encoded, str):
        return None
    try:
        certificate = x509.load_der_x509_certificate(_b64url(encoded))
    except ValueError:
        raise RefreshFailed("malformed_certificate") from None
    if certificate.serial_number != latest.serial:
        raise RefreshFailed("certificate_not_linked")
    if not any(_issued_by(certificate, root) for root in jlis_client.trust_anchors().signature):
        raise RefreshFailed("certificate_untrusted")
    return certificate


def _issued_by(certificate: x509.Certificate, root: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(root)
    except (ValueError, TypeError, Exception):  # InvalidSignature, wrong issuer name, unsupported key
        return False
    return True


def _claims(info: BasicFourInfo, changed: list[str]) -> dict[str, Any]:
    from anchorid.idp.oidc.claims import claim_values

    names = {claim for attribute in changed for claim in CLAIMS_OF.get(attribute, [])}
    return claim_values(info, names)


def refresh_account(account_id: Any, *, now: datetime.datetime | None = None) -> tuple[bool, bool]:
    """Refresh one account (module docstring); returns (attributes changed or stale mark lifted, re-anchored)."""
    now = now or timezone.now()
    account = Account.objects.get(pk=account_id)
    anchor = account.current_anchor()
    if anchor is None:
        raise RefreshFailed("no_anchor")
    try:
        answer = jlis_client.current_attributes(int(anchor.serial))
        successor = _successor(anchor, answer)
    except jlis_client.JlisRefused as refusal:
        if refusal.code in ("no_consent", "consent_withdrawn"):
            RefreshConsent.objects.filter(account=account, withdrawn_at__isnull=True).update(withdrawn_at=now)
        raise RefreshFailed(refusal.code) from None
    except jlis_client.JlisUnavailable:
        raise RefreshFailed("jlis_unavailable") from None
    except KeyStoreError:
        raise RefreshFailed("operator_key_unavailable") from None
    if answer.get("resident_status") not in (None, "alive", "active"):
        raise RefreshFailed("resident_not_alive")
    info = info_from_jlis(answer.get("attributes"))
    try:
        with transaction.atomic():
            locked = Account.objects.select_for_update().get(pk=account.pk)
            try:
                previous = locked.attributes()
            except attribute_crypto.AttributeDecryptionError:
                previous = None
            changed = changed_attribute_names(previous, info)
            was_stale = locked.attributes_stale
            locked.set_attributes(info, verified_how=VERIFIED_HOW, verified_at=now)
            locked.save()
            reanchored = False
            if successor is not None:
                AnchorCertificate.objects.filter(account=locked, current=True).update(current=False)
                AnchorCertificate.objects.create(
                    account=locked,
                    issuer_fingerprint=jlis_client.certificate_fingerprint(
                        next(r for r in jlis_client.trust_anchors().signature if _issued_by(successor, r))
                    ),
                    serial=str(successor.serial_number),
                    fingerprint=jlis_client.certificate_fingerprint(successor),
                    not_before=successor.not_valid_before_utc,
                    not_after=successor.not_valid_after_utc,
                    current=True,
                    status=AnchorCertificate.Status.GOOD,
                    checked_at=now,
                    anchored_at=now,
                )
                reanchored = True
            else:
                AnchorCertificate.objects.filter(pk=anchor.pk).update(checked_at=now)
            subject = str(locked.pk)
            if changed or was_stale:
                append(
                    EventType.ATTRIBUTE_CHANGE,
                    subject,
                    ACTOR,
                    {"attributes": changed, "source": "jlis_current_attributes", "stale": False},
                )
            if reanchored:
                append(
                    EventType.ANCHOR_RELINKED,
                    subject,
                    ACTOR,
                    {
                        "certificate_fingerprint": jlis_client.certificate_fingerprint(successor),  # type: ignore[arg-type]
                        "previous_fingerprint": anchor.fingerprint,
                        "source": "jlis_certificate_links",
                    },
                )
            if changed:
                _emit("emit_claims_change", locked, _claims(info, changed), reason="jlis_refresh")
            if changed or was_stale or reanchored:
                notices.create([(locked.pk, Notice.Kind.ATTRIBUTES_REFRESHED, MOVED)], now=now)
    except IntegrityError:
        raise RefreshFailed("person_key_conflict") from None
    return bool(changed or was_stale), reanchored


def pending_accounts(limit: int = MAX_PER_SWEEP) -> list[Any]:
    """Accounts with a standing consent whose attributes are stale after a move, or whose anchor awaits a link.

    Driven from the consents (few, compared with the accounts), in chunks, so a sweep with no consents costs one
    query and never a scan of every account.
    """
    consenting = list(RefreshConsent.objects.filter(withdrawn_at__isnull=True).values_list("account_id", flat=True))
    stale: list[Any] = []
    waiting: list[tuple[Any, Any]] = []
    for start in range(0, len(consenting), CHUNK):
        chunk = consenting[start : start + CHUNK]
        stale += Account.objects.filter(
            pk__in=chunk, status=Account.Status.ACTIVE, attributes_stale_reason=MOVED
        ).values_list("pk", flat=True)
        waiting += AnchorCertificate.objects.filter(
            account_id__in=chunk,
            account__status=Account.Status.ACTIVE,
            current=True,
            status=AnchorCertificate.Status.REVOKED,
            revocation_reason__in=[MOVED, SUPERSEDED],
        ).values_list("checked_at", "account_id")
    # Stale accounts first; then those waiting longest for a link since their last look (fair under the limit).
    ordered = [*stale, *(account_id for _checked, account_id in sorted(waiting))]
    return list(dict.fromkeys(ordered))[:limit]


def run_pending(*, now: datetime.datetime | None = None) -> RefreshOutcome:
    outcome = RefreshOutcome()
    for account_id in pending_accounts():
        try:
            refreshed, reanchored = refresh_account(account_id, now=now)
        except RefreshFailed as failure:
            outcome.error(failure.code)
            AnchorCertificate.objects.filter(account_id=account_id, current=True).update(checked_at=timezone.now())
            continue
        outcome.refreshed += int(refreshed)
        outcome.reanchored += int(reanchored)
    return outcome


def notify_without_consent(account_ids: list[Any], *, now: datetime.datetime | None = None) -> int:
    """Residents whose anchor was revoked after a move but who gave no consent: ask them to re-verify."""
    consenting = set(
        RefreshConsent.objects.filter(account_id__in=account_ids, withdrawn_at__isnull=True).values_list(
            "account_id", flat=True
        )
    )
    items = [(account_id, Notice.Kind.REVERIFY, MOVED) for account_id in account_ids if account_id not in consenting]
    with transaction.atomic():
        notices.create(items, now=now)
    return len(items)
