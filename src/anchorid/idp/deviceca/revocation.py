"""Revoking device certificates, and holding them while an account is suspended.

For the self-service engineer's views (and staff tools):

- ``revoke_device_certificate(certificate, reason)``: final (RFC 5280 §5.3.1 reasons, default
  ``cessationOfOperation``; ``keyCompromise`` for a lost or stolen phone);
- ``suspend_device_certificates(account)``: every good certificate of the account goes ``certificateHold``;
- ``resume_device_certificates(account)``: the holds are released (the certificates leave the CRL and OCSP
  answers ``good`` again), after the account was resumed with the card.

Each re-signs the certificates' stored OCSP responses and the issuing CRL in the same transaction, so the
very next OCSP or CRL fetch already tells. Revocations and holds are appended to the audit log
(``credential_revoked``; a hold's reason is ``certificate_hold``); a release is covered by the account's
``resumption`` entry, which the caller writes.
"""

from __future__ import annotations

import re

from cryptography import x509
from django.db import transaction
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.audit.chain import append
from anchorid.idp.deviceca.crl import regenerate_issuing_crl
from anchorid.idp.deviceca.models import DeviceCertificate
from anchorid.idp.deviceca.ocsp import presign
from anchorid.idp.ssf import hooks as ssf_hooks

Status = DeviceCertificate.Status
CREDENTIAL_KIND = "device_certificate"

#: Reasons a resident or staff may give for a final revocation (certificateHold is for suspension only).
REVOCATION_REASONS = frozenset(
    {
        x509.ReasonFlags.unspecified,
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
    }
)


class RevocationRefused(ValueError):
    """Not a reason this function accepts (e.g. ``certificateHold``: use ``suspend_device_certificates``)."""


def audit_code(reason: x509.ReasonFlags) -> str:
    """``keyCompromise`` → ``key_compromise``: audit codes are lowercase."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", reason.value).lower()


def _revoke_locked(certificate: DeviceCertificate, reason: x509.ReasonFlags, actor: str) -> None:
    certificate.status = Status.ON_HOLD if reason is x509.ReasonFlags.certificate_hold else Status.REVOKED
    certificate.revocation_reason = reason.value
    certificate.revoked_at = timezone.now().replace(microsecond=0)
    presign(certificate)
    certificate.save(update_fields=["status", "revocation_reason", "revoked_at", "ocsp_response", "ocsp_next_update"])
    append(
        "credential_revoked",
        subject=str(certificate.account_id),
        actor=actor,
        details={
            "credential_id": certificate.credential_id,
            "credential_kind": CREDENTIAL_KIND,
            "reason": audit_code(reason),
        },
    )
    ssf_hooks.device_certificate_revoked(certificate)


def revoke_device_certificate(
    certificate: DeviceCertificate,
    reason: x509.ReasonFlags = x509.ReasonFlags.cessation_of_operation,
    *,
    actor: str | None = None,
) -> DeviceCertificate:
    """Revoke for good (a held certificate may be revoked too). Idempotent for an already revoked one."""
    if reason not in REVOCATION_REASONS:
        raise RevocationRefused(f"{reason.value} is not a revocation reason here; holds come with suspension")
    with transaction.atomic():
        locked = DeviceCertificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.status != Status.REVOKED:
            _revoke_locked(locked, reason, actor or str(locked.account_id))
            regenerate_issuing_crl()
    return locked


def suspend_device_certificates(account: Account, *, actor: str | None = None) -> int:
    """Put every good certificate of ``account`` on hold (certificateHold). Returns how many."""
    with transaction.atomic():
        good = list(DeviceCertificate.objects.select_for_update().filter(account=account, status=Status.GOOD))
        for certificate in good:
            _revoke_locked(certificate, x509.ReasonFlags.certificate_hold, actor or str(account.pk))
        if good:
            regenerate_issuing_crl()
    return len(good)


def resume_device_certificates(account: Account) -> int:
    """Release the holds of ``account`` (its certificates are good again). Returns how many."""
    with transaction.atomic():
        held = list(DeviceCertificate.objects.select_for_update().filter(account=account, status=Status.ON_HOLD))
        for certificate in held:
            certificate.status = Status.GOOD
            certificate.revocation_reason = ""
            certificate.revoked_at = None
            presign(certificate)
            certificate.save(
                update_fields=["status", "revocation_reason", "revoked_at", "ocsp_response", "ocsp_next_update"]
            )
        if held:
            regenerate_issuing_crl()
    return len(held)


def certificate_is_usable(account: Account, credential_id: str) -> bool:
    """A session opened with this device key stays open while the certificate is good and in its validity."""
    return DeviceCertificate.objects.filter(
        account=account, subject_id=credential_id, status=Status.GOOD, not_after__gt=timezone.now()
    ).exists()


def register_session_check() -> None:
    from anchorid.idp.sessions import register_credential_check

    register_credential_check(CREDENTIAL_KIND, certificate_is_usable)
