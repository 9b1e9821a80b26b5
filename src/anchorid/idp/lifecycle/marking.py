"""What a revoked or expired anchor certificate does to its account (the sweep and the login check share it).

For each anchor that changed, in one transaction:

- the ``AnchorCertificate`` row: status ``revoked`` (reason, time from the CRL or OCSP) or ``expired``;
- the account's attributes are marked stale (``attributes_stale_since``/``_reason``), so ``verified_claims``
  say so at once (``anchorid.idp.oidc.ida``) -- except for ``superseded`` (a renewal: the attributes did not
  change; the resident re-anchors with the new certificate);
- death (``cessationOfOperation``, the reason J-LIS gives, docs/jlis.md) closes the account: status suspended
  with reason ``deceased``, wallet certificates on hold, every OpenID Connect grant revoked (codes, access and
  refresh tokens), services told (account-disabled) when the SSF transmitter is installed;
- a hold (``certificateHold``, lost card) changes nothing else: card login is refused by OCSP at once, and the
  resident's passkeys and device certificates stay usable unless they stop them;
- an audit entry ``anchor_certificate_revoked`` (fingerprint, reason code, how it was detected) and a notice.

Rows are updated in bulk (one parameterised UPDATE executed per batch, audit entries appended under one lock,
notices in one INSERT); the work is proportional to the anchors that changed, never to the number of accounts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.audit.chain import append, append_many
from anchorid.idp.audit.events import EventType
from anchorid.idp.lifecycle import notices
from anchorid.idp.lifecycle.models import Notice

ACTOR = "system:lifecycle"
HOLD = "certificateHold"
DEATH = "cessationOfOperation"
MOVED = "affiliationChanged"
SUPERSEDED = "superseded"
EXPIRED = "expired"
DECEASED = "deceased"
#: Reasons that leave the attributes as they were (no stale mark).
NOT_STALE = frozenset({SUPERSEDED})


@dataclass(frozen=True, slots=True)
class AnchorChange:
    anchor_id: int
    reason: str  # RFC 5280 CRLReason name, or "expired"
    revoked_at: datetime


def audit_code(reason: str) -> str:
    """``affiliationChanged`` → ``affiliation_changed`` (audit codes are lowercase)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", reason).lower()


def _notice_kind(reason: str) -> str:
    if reason == HOLD:
        return Notice.Kind.CARD_HELD
    if reason == EXPIRED:
        return Notice.Kind.ANCHOR_EXPIRED
    if reason == DEATH:
        return Notice.Kind.ACCOUNT_DISABLED
    if reason == SUPERSEDED:
        return Notice.Kind.REVERIFY
    return Notice.Kind.ANCHOR_REVOKED


def _emit(name: str, *args: Any, **kwargs: Any) -> None:
    """Call ``anchorid.idp.ssf.emit.<name>`` when the SSF transmitter is part of this server (same transaction)."""
    if not apps.is_installed("anchorid.idp.ssf"):
        return
    from anchorid.idp.ssf import emit

    getattr(emit, name)(*args, **kwargs)


def _close_deceased(account_ids: list[Any], now: datetime) -> None:
    for account in (
        Account.objects.select_for_update().filter(pk__in=account_ids).exclude(status=Account.Status.DELETED)
    ):
        if account.status == Account.Status.SUSPENDED and account.status_reason == DECEASED:
            continue
        account.status = Account.Status.SUSPENDED
        account.status_changed_at = now
        account.status_reason = DECEASED
        account.save(update_fields=["status", "status_changed_at", "status_reason"])
        append(
            EventType.SUSPENSION,
            str(account.pk),
            ACTOR,
            {"scope": "account", "channel": "jlis", "reason": DECEASED},
        )
        if apps.is_installed("anchorid.idp.deviceca"):
            from anchorid.idp.deviceca import revocation

            revocation.suspend_device_certificates(account, actor=ACTOR)
        if apps.is_installed("anchorid.idp.oidc"):
            from anchorid.idp.oidc.tokens import revoke_account

            revoke_account(account.pk, DECEASED)
        _emit("emit_account_status", account, enabled=False, reason=DECEASED)


def _write_anchor_rows(rows: list[AnchorCertificate]) -> None:
    """One parameterised UPDATE executed for every changed row (Django's bulk_update builds a CASE expression
    per row and field, which costs more than the whole pass over a million anchors)."""
    if not rows:
        return
    meta = AnchorCertificate._meta
    by_name = {field.name: str(field.column) for field in meta.concrete_fields}
    quote = connection.ops.quote_name
    names = ("status", "revocation_reason", "revoked_at", "checked_at")
    assignments = ", ".join(f"{quote(by_name[name])} = %s" for name in names)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(by_name['id'])} = %s"  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [(row.status, row.revocation_reason, adapt(row.revoked_at), adapt(row.checked_at), row.pk) for row in rows],
        )


def apply(changes: list[AnchorChange], *, detected_by: str, now: datetime | None = None) -> dict[str, int]:
    """Record ``changes`` (see the module docstring) in one transaction; returns counts by reason."""
    if not changes:
        return {}
    now = now or timezone.now()
    by_id = {change.anchor_id: change for change in changes}
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        # Lock order as everywhere: account rows and anchors before the audit head (taken last, by append).
        rows = list(
            AnchorCertificate.objects.select_for_update()
            .filter(pk__in=list(by_id), current=True)
            .exclude(status=AnchorCertificate.Status.REVOKED, revocation_reason=DEATH)
            .only("id", "account_id", "fingerprint", "status", "revocation_reason")
        )
        stale_by_reason: dict[str, list[Any]] = defaultdict(list)
        deceased: list[Any] = []
        notice_items: list[tuple[Any, str, str]] = []
        for row in rows:
            change = by_id[row.pk]
            if change.reason == EXPIRED:
                row.status = AnchorCertificate.Status.EXPIRED
                row.revocation_reason = ""
                row.revoked_at = None
            else:
                row.status = AnchorCertificate.Status.REVOKED
                row.revocation_reason = change.reason
                row.revoked_at = change.revoked_at
            row.checked_at = now
            counts[change.reason] += 1
            if change.reason not in NOT_STALE:
                stale_by_reason[change.reason].append(row.account_id)
            if change.reason == DEATH:
                deceased.append(row.account_id)
            notice_items.append((row.account_id, _notice_kind(change.reason), change.reason))
        _write_anchor_rows(rows)
        for reason, account_ids in stale_by_reason.items():
            for start in range(0, len(account_ids), 500):
                Account.objects.filter(pk__in=account_ids[start : start + 500]).update(
                    attributes_stale_since=now, attributes_stale_reason=reason
                )
        _close_deceased(deceased, now)
        append_many(
            [
                (
                    EventType.ANCHOR_CERTIFICATE_REVOKED,
                    str(row.account_id),
                    ACTOR,
                    {
                        "certificate_fingerprint": row.fingerprint,
                        "reason": audit_code(by_id[row.pk].reason),
                        "detected_by": "validity" if by_id[row.pk].reason == EXPIRED else detected_by,
                    },
                )
                for row in rows
            ]
        )
        notices.create(notice_items, now=now)
    return dict(counts)


def release_holds(anchor_ids: list[int], *, now: datetime | None = None) -> int:
    """Anchors on hold that the CRL no longer lists (removeFromCRL): good again, the hold's stale mark lifted."""
    if not anchor_ids:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            AnchorCertificate.objects.select_for_update().filter(
                pk__in=anchor_ids, current=True, status=AnchorCertificate.Status.REVOKED, revocation_reason=HOLD
            )
        )
        account_ids = [row.account_id for row in rows]
        AnchorCertificate.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=AnchorCertificate.Status.GOOD, revocation_reason="", revoked_at=None, checked_at=now
        )
        Account.objects.filter(pk__in=account_ids, attributes_stale_reason=HOLD).update(
            attributes_stale_since=None, attributes_stale_reason=""
        )
        notices.create([(account_id, Notice.Kind.HOLD_RELEASED, HOLD) for account_id in account_ids], now=now)
    return len(rows)
