"""The lifecycle watcher's part for children (docs/guardians.md): run with the sweep, or ``anchorid idp guardians
transitions --today DATE`` (a clock a test moves).

- 15 or older and still a child: when J-LIS pairs a signature certificate in force with the card's authentication
  certificate (issued at the counter from the 15th birthday), the account is re-anchored on it — the
  authentication anchor is kept, no longer current; the activity stays — and every full guardianship narrows: the
  young person decides their own consents from now on; the guardian still sees which services they use.
- 18 or older: every guardianship ends; the account is the adult's alone.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from cryptography import x509
from django.db import transaction
from django.utils import timezone

from anchorid.common.adoption_bands import age_on
from anchorid.idp import jlis_client
from anchorid.idp.accounts import attribute_crypto
from anchorid.idp.accounts.models import AnchorCertificate
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.guardians.models import ChildAccount, Guardianship
from anchorid.idp.keystore import KeyStoreError

log = logging.getLogger(__name__)
SIGNATURE_AGE = 15
ADULT_AGE = 18
WATCHER = "system:watcher"


@dataclass
class Transitions:
    reanchored: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # 15+, no signature certificate at J-LIS yet


def _reanchor(profile: ChildAccount, der: bytes, now: datetime.datetime) -> None:
    certificate = x509.load_der_x509_certificate(der)
    anchors = jlis_client.trust_anchors()
    issuer = next(
        (jlis_client.certificate_fingerprint(root) for root in anchors.signature if root.subject == certificate.issuer),
        "",
    )
    account = profile.account
    with transaction.atomic():
        account.anchors.filter(current=True).update(current=False)
        AnchorCertificate.objects.create(
            account=account, issuer_fingerprint=issuer, serial=str(certificate.serial_number),
            fingerprint=jlis_client.certificate_fingerprint(certificate),
            not_before=certificate.not_valid_before_utc, not_after=certificate.not_valid_after_utc, current=True,
            status=AnchorCertificate.Status.GOOD, checked_at=now, anchored_at=now,
        )  # fmt: skip
        info = account.attributes()
        if info is not None:
            account.person_key = attribute_crypto.person_key(info)  # a later card onboarding finds this account
            account.save(update_fields=["person_key"])
        profile.stage, profile.reanchored_at = ChildAccount.Stage.TEEN, now
        profile.save(update_fields=["stage", "reanchored_at"])
        Guardianship.objects.filter(child=account, role=Guardianship.Role.FULL).update(
            role=Guardianship.Role.NARROWED, narrowed_at=now
        )
        fingerprint = jlis_client.certificate_fingerprint(certificate)
        append(EventType.GUARDIANSHIP, str(account.pk), WATCHER, {"action": "reanchored",
                                                                 "certificate_fingerprint": fingerprint})  # fmt: skip
        append(EventType.GUARDIANSHIP, str(account.pk), WATCHER, {"action": "narrowed"})


def _end(profile: ChildAccount, now: datetime.datetime) -> None:
    with transaction.atomic():
        Guardianship.objects.filter(child=profile.account, ended_at__isnull=True).update(
            role=Guardianship.Role.ENDED, ended_at=now
        )
        profile.stage, profile.ended_at = ChildAccount.Stage.ADULT, now
        profile.save(update_fields=["stage", "ended_at"])
        append(EventType.GUARDIANSHIP, str(profile.account_id), WATCHER, {"action": "ended"})


def run(today: datetime.date | None = None) -> Transitions:
    now = timezone.now()
    today = today or timezone.localdate(now)
    done = Transitions()
    for profile in ChildAccount.objects.select_related("account").exclude(stage=ChildAccount.Stage.ADULT):
        info = profile.account.attributes()
        if info is None:
            continue
        age = age_on(info.birth_date, today)
        if age >= ADULT_AGE:
            _end(profile, now)
            done.ended.append(str(profile.account_id))
        elif age >= SIGNATURE_AGE and profile.stage == ChildAccount.Stage.CHILD:
            try:
                der = jlis_client.paired_signature_certificate(int(profile.authentication_serial))
            except (jlis_client.JlisUnavailable, jlis_client.JlisRefused, KeyStoreError) as error:
                log.warning("child transitions: jlis not asked (%s)", type(error).__name__)
                der = None
            if der is None:
                done.waiting.append(str(profile.account_id))
            else:
                _reanchor(profile, der, now)
                done.reanchored.append(str(profile.account_id))
    return done
