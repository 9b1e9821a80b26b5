"""What a resident can do to their own account, as plain functions (views and tests call these).

Every change is appended to the audit log in the same transaction. Device certificates (the wallet) are handled
through ``anchorid.idp.deviceca.revocation`` when that app is installed; passkeys through
``anchorid.idp.passkeys.ceremonies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Level
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.passkeys import ceremonies as passkeys
from anchorid.idp.passkeys.models import Passkey
from anchorid.idp.ssf import hooks as ssf_hooks

PASSKEY = "passkey"
DEVICE_CERTIFICATE = "device_certificate"
DEVICECA_APP = "anchorid.idp.deviceca"
OIDC_APP = "anchorid.idp.oidc"


class ActionRefused(Exception):
    """A self-service action was refused; nothing changed. ``message`` is for the resident."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _revoke_oidc_grants(account: Account, reason: str) -> None:
    """The account stopped: every OpenID Connect grant it holds (codes, access and refresh tokens) ends now."""
    if apps.is_installed(OIDC_APP):
        from anchorid.idp.oidc.tokens import revoke_account

        revoke_account(account.pk, reason)


def _deviceca() -> ModuleType | None:
    """The device CA's revocation module, when that app is part of this server."""
    if not apps.is_installed(DEVICECA_APP):
        return None
    from anchorid.idp.deviceca import revocation

    return revocation


# -- what the resident sees ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CredentialRow:
    kind: str
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    state: str  # "active", "suspended", "revoked", "on_hold"
    level: Level | None

    @property
    def is_active(self) -> bool:
        return self.state == "active"


def _passkey_state(passkey: Passkey) -> str:
    if passkey.revoked_at is not None:
        return "revoked"
    if passkey.suspended_at is not None:
        return "suspended"
    return "active"


def credentials(account: Account) -> list[CredentialRow]:
    rows = [
        CredentialRow(
            kind=PASSKEY,
            id=str(p.pk),
            name=p.name,
            created_at=p.created_at,
            last_used_at=p.last_used_at,
            state=_passkey_state(p),
            level=p.assurance,
        )
        for p in account.passkeys.all()
    ]
    if _deviceca() is not None:
        model: Any = apps.get_model("deviceca", "DeviceCertificate")
        state = {"good": "active", "on_hold": "on_hold", "revoked": "revoked"}
        for cert in model.objects.filter(account=account).order_by("created_at"):
            try:
                level: Level | None = Level.from_acr(cert.acr)
            except ValueError:
                level = None
            rows.append(
                CredentialRow(
                    kind=DEVICE_CERTIFICATE,
                    id=cert.credential_id,
                    name=cert.device_name,
                    created_at=cert.created_at,
                    last_used_at=None,
                    state=state.get(cert.status, cert.status),
                    level=level,
                )
            )
    return rows


def activity(account: Account, limit: int = 50) -> Sequence[AuditEntry]:
    """The audit entries about this account, newest first."""
    return list(AuditEntry.objects.filter(subject=str(account.pk)).order_by("-seq")[:limit])


# -- credentials ---------------------------------------------------------------------------------------------


def _device_certificate(account: Account, credential_id: str) -> Any:
    model: Any = apps.get_model("deviceca", "DeviceCertificate")
    cert = model.objects.filter(account=account, subject_id=credential_id).first()
    if cert is None:
        raise ActionRefused("unknown_credential", "unknown")
    return cert


def revoke_credential(account: Account, kind: str, credential_id: str) -> None:
    if kind == PASSKEY:
        try:
            passkeys.revoke_passkey(account, credential_id)
        except passkeys.PasskeyRefused as refusal:
            raise ActionRefused(refusal.code, refusal.message) from None
        return
    revocation = _deviceca()
    if kind == DEVICE_CERTIFICATE and revocation is not None:
        from cryptography import x509

        revocation.revoke_device_certificate(
            _device_certificate(account, credential_id), x509.ReasonFlags.cessation_of_operation, actor=str(account.pk)
        )
        return
    raise ActionRefused("unknown_credential", "unknown")


def suspend_credential(account: Account, kind: str, credential_id: str, *, channel: str) -> None:
    """Emergency stop for one credential. A lost phone's wallet certificate is revoked (key compromise)."""
    if kind == PASSKEY:
        try:
            passkeys.suspend_passkey(account, credential_id, channel=channel)
        except passkeys.PasskeyRefused as refusal:
            raise ActionRefused(refusal.code, refusal.message) from None
        return
    revocation = _deviceca()
    if kind == DEVICE_CERTIFICATE and revocation is not None:
        from cryptography import x509

        revocation.revoke_device_certificate(
            _device_certificate(account, credential_id), x509.ReasonFlags.key_compromise, actor=str(account.pk)
        )
        return
    raise ActionRefused("unknown_credential", "unknown")


def resume_credential(account: Account, kind: str, credential_id: str) -> None:
    """Lift one credential's suspension; the caller has checked a card login (``Level.CARD``)."""
    if kind != PASSKEY:
        raise ActionRefused("unknown_credential", "unknown")
    try:
        passkeys.resume_passkey(account, credential_id)
    except passkeys.PasskeyRefused as refusal:
        raise ActionRefused(refusal.code, refusal.message) from None


# -- the account ---------------------------------------------------------------------------------------------


def suspend_account(account: Account, *, channel: str, reason: str = "resident_request") -> Account:
    """Emergency stop: the account (and every session, passkey and wallet certificate with it) stops at once.

    Sessions end because ``sessions.current_authentication`` re-reads the status on every request; wallet
    certificates go on hold (OCSP/CRL say so at once). Resuming needs the card (``resume_account``).
    """
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.status == Account.Status.DELETED:
            raise ActionRefused("account_deleted", "deleted")
        if locked.status == Account.Status.SUSPENDED:
            return locked
        locked.status = Account.Status.SUSPENDED
        locked.status_changed_at = timezone.now()
        locked.status_reason = reason
        locked.save(update_fields=["status", "status_changed_at", "status_reason"])
        append(
            "suspension",
            subject=str(locked.pk),
            actor=str(locked.pk),
            details={"scope": "account", "channel": channel, "reason": reason},
        )
        ssf_hooks.account_stopped(locked, reason)
        _revoke_oidc_grants(locked, "account_suspended")
        revocation = _deviceca()
        if revocation is not None:
            revocation.suspend_device_certificates(locked, actor=str(locked.pk))
    return locked


def resume_account(account: Account) -> Account:
    """Lift an account's suspension. Only after the card verified just now (the caller's duty)."""
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.status != Account.Status.SUSPENDED:
            return locked
        locked.status = Account.Status.ACTIVE
        locked.status_changed_at = timezone.now()
        locked.status_reason = ""
        locked.save(update_fields=["status", "status_changed_at", "status_reason"])
        append(
            "resumption", subject=str(locked.pk), actor=str(locked.pk), details={"scope": "account", "method": "card"}
        )
        ssf_hooks.account_resumed(locked)
        revocation = _deviceca()
        if revocation is not None:
            revocation.resume_device_certificates(locked)
    return locked


def delete_account(account: Account) -> None:
    """Delete the account's personal data and credentials; keep a tombstone row and the audit log.

    Removed: the four attributes (ciphertext and the person key, so the person may register afresh), the anchor
    certificate records, every passkey. Wallet certificates are revoked (they must stay listed on the CRL until
    they expire). Kept: the account's opaque id with status ``deleted`` (so it is never reused) and the audit
    log entries, which name it only by that id and never held an attribute value.
    """
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        if locked.status == Account.Status.DELETED:
            raise ActionRefused("account_deleted", "deleted")
        ssf_hooks.account_deleted(locked)  # first: the services still hold a pairwise sub to be told
        revocation = _deviceca()
        if revocation is not None:
            from cryptography import x509

            model: Any = apps.get_model("deviceca", "DeviceCertificate")
            for cert in model.objects.filter(account=locked).exclude(status="revoked"):
                revocation.revoke_device_certificate(
                    cert, x509.ReasonFlags.cessation_of_operation, actor=str(locked.pk)
                )
        for passkey in locked.passkeys.filter(revoked_at__isnull=True):
            append(
                "credential_revoked",
                subject=str(locked.pk),
                actor=str(locked.pk),
                details={"credential_id": str(passkey.pk), "credential_kind": "passkey", "reason": "account_deleted"},
            )
        locked.passkeys.all().delete()
        locked.anchors.all().delete()
        locked.attributes_ciphertext = None
        locked.person_key = None
        locked.attributes_verified_at = None
        locked.attributes_verified_how = ""
        locked.attributes_stale_since = None
        locked.attributes_stale_reason = ""
        locked.status = Account.Status.DELETED
        locked.status_changed_at = timezone.now()
        locked.status_reason = "resident_request"
        locked.save()
        _revoke_oidc_grants(locked, "account_deleted")
        append("deletion", subject=str(locked.pk), actor=str(locked.pk), details={"reason": "resident_request"})
