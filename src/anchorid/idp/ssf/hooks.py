"""One-line hooks the idp's apps call where credentials, sessions and account status change (inside the same
``transaction.atomic`` block as the change, except ``session_ended``, which opens its own after the logout).

- passkeys: ``passkey_created`` / ``passkey_revoked`` → CAEP credential-change ``fido2-platform`` (a platform or
  synced passkey: transport ``internal`` or the backup flag) or ``fido2-roaming`` (a security key);
- device certificates: ``device_certificate_issued`` / ``device_certificate_revoked`` → credential-change ``x509``
  with the issuer's name and the serial (a hold is not a revocation: the account-level events cover suspension);
- ``session_ended`` (logout) → CAEP session-revoked to the clients holding grants from that login session;
- ``account_stopped`` / ``account_resumed`` / ``account_deleted`` → RISC account-disabled (with session-revoked for
  an emergency stop) / account-enabled.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from django.db import transaction

from anchorid.idp.ssf import emit


def _passkey_type(passkey: Any) -> str:
    return "fido2-platform" if "internal" in (passkey.transports or []) or passkey.backed_up else "fido2-roaming"


def passkey_created(passkey: Any) -> int:
    return emit.emit_credential_change(
        passkey.account,
        credential_type=_passkey_type(passkey),
        change_type="create",
        friendly_name=passkey.name,
        fido2_aaguid=passkey.aaguid or "",
    )


def passkey_revoked(passkey: Any, *, initiating_entity: str = "user") -> int:
    return emit.emit_credential_change(
        passkey.account,
        credential_type=_passkey_type(passkey),
        change_type="revoke",
        friendly_name=passkey.name,
        fido2_aaguid=passkey.aaguid or "",
        initiating_entity=initiating_entity,
    )


def _x509_fields(certificate: Any) -> dict[str, str]:
    parsed = x509.load_der_x509_certificate(bytes(certificate.der))
    return {"x509_issuer": parsed.issuer.rfc4514_string(), "x509_serial": str(parsed.serial_number)}


def device_certificate_issued(certificate: Any) -> int:
    return emit.emit_credential_change(
        certificate.account,
        credential_type="x509",
        change_type="create",
        friendly_name=certificate.device_name or "",
        **_x509_fields(certificate),
    )


def device_certificate_revoked(certificate: Any) -> int:
    if certificate.status != "revoked":
        return 0
    return emit.emit_credential_change(
        certificate.account,
        credential_type="x509",
        change_type="revoke",
        friendly_name=certificate.device_name or "",
        **_x509_fields(certificate),
    )


def session_ended(account: Any, sid: str) -> int:
    """After a logout: session-revoked to the clients that hold grants from login session ``sid``."""
    if account is None or not getattr(account, "is_authenticated", False) or not sid:
        return 0
    with transaction.atomic():
        return emit.emit_session_revoked(account, sid=sid, initiating_entity="user", reason="logout")


def account_stopped(account: Any, reason: str) -> int:
    queued = emit.emit_account_status(account, enabled=False, reason=f"emergency stop: {reason}")
    return queued + emit.emit_session_revoked(account, initiating_entity="user", reason="emergency stop")


def account_resumed(account: Any) -> int:
    return emit.emit_account_status(account, enabled=True, reason="resumed after a card check")


def account_deleted(account: Any) -> int:
    queued = emit.emit_account_status(account, enabled=False, reason="account deleted")
    return queued + emit.emit_session_revoked(account, initiating_entity="user", reason="account deleted")
