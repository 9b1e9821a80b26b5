"""Emitting events: what the rest of the idp calls inside the transaction that makes a change.

Each function finds the streams that should hear about the change, builds and signs one SET per stream (each
with that client's pairwise ``sub``; the same ``txn`` across them) and writes it to the outbox in the caller's
transaction: if the change rolls back, so do its events (transactional outbox). Calling outside
``transaction.atomic`` is refused, since a change and its event committed separately could part ways.

Who hears: clients the resident is connected to — a consent decision or a grant exists, so the client holds a
pairwise ``sub`` for them, and the resident has not withdrawn it — whose stream is enabled or paused (paused
streams keep their events until resumed, disabled ones get none, SSF 1.0 §8.1.2), that asked for the event type,
and did not remove the subject.
Claims changes go further only to clients the resident ticked for forwarding (``AddressForwarding``) and carry
only the claims the resident consented to give that client.

Each function returns how many SETs were queued.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from anchorid.idp.oidc.models import Client, ConsentDecision, Grant
from anchorid.idp.oidc.pairwise import subject_for
from anchorid.idp.ssf import events
from anchorid.idp.ssf.models import AddressForwarding, OutboxEvent, RemovedSubject, Stream


class NotInTransaction(RuntimeError):
    """emit_* was called outside transaction.atomic: the event could outlive a rolled-back change."""


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise NotInTransaction("emit the event inside the transaction.atomic block that makes the change")


def connected_client_ids(account: Any) -> set[str]:
    """Clients that hold a pairwise sub for this resident (a consent decision stands, or a grant was issued) and
    that the resident did not disconnect (withdrawing consent deletes the decisions and revokes the grants with
    reason ``consent_withdrawn``)."""
    ids = set(
        Grant.objects.filter(account=account)
        .exclude(revoked_reason="consent_withdrawn")
        .values_list("client_id", flat=True)
        .distinct()
    )
    ids |= set(ConsentDecision.objects.filter(account=account).values_list("client_id", flat=True).distinct())
    return ids


def _streams(client_ids: Iterable[str], event_type: str) -> list[Stream]:
    streams = Stream.objects.filter(
        client_id__in=list(client_ids),
        client__active=True,
        status__in=[Stream.Status.ENABLED, Stream.Status.PAUSED],
    ).select_related("client")
    return [s for s in streams if event_type in s.events_requested or event_type in events.ALWAYS_DELIVERED]


def sub_for(client: Client, account: Any) -> str:
    return subject_for(client.sector, client.public_sub, str(account.pk))


def _queue(account: Any, targets: list[tuple[Stream, str, dict[str, Any]]], event_type: str, txn: str | None) -> int:
    """Sign and write one SET per (stream, sub, event body), skipping subjects the receiver removed."""
    if not targets:
        return 0
    removed = set(RemovedSubject.objects.filter(stream__in=[s for s, _, _ in targets]).values_list("stream_id", "sub"))
    txn = txn or events.new_txn()
    rows = []
    for stream, sub, body in targets:
        if (stream.stream_id, sub) in removed:
            continue
        jti = events.new_jti()
        payload = events.set_payload(
            aud=stream.client_id, jti=jti, txn=txn, sub_id=events.subject(sub), event_type=event_type, event=body
        )
        rows.append(
            OutboxEvent(
                stream=stream,
                account=account,
                txn=txn,
                jti=jti,
                event_type=event_type,
                token=events.sign_set(payload),
            )
        )
    OutboxEvent.objects.bulk_create(rows)
    return len(rows)


def _reasons(body: dict[str, Any], reason: str) -> dict[str, Any]:
    if reason:
        body["reason_admin"] = {"en": reason}
    return body


def emit_claims_change(
    account: Any,
    claims: dict[str, Any],
    *,
    reason: str,
    txn: str | None = None,
    only_clients: Iterable[str] | None = None,
) -> int:
    """CAEP claims-change with the new values of ``claims`` (OIDC claim names → values), per client filtered to
    the claims that client may see, only to clients the resident ticked for forwarding (and, with
    ``only_clients``, only to those of them)."""
    _require_transaction()
    if not isinstance(claims, dict) or not claims:
        raise ValueError("claims must be a non-empty dict of OIDC claim names to new values")
    forwarding = set(
        AddressForwarding.objects.filter(account=account, forward=True).values_list("client_id", flat=True)
    )
    client_ids = forwarding & connected_client_ids(account)
    if only_clients is not None:
        client_ids &= set(only_clients)
    consented: dict[str, set[str]] = {}
    for client_id, claim in ConsentDecision.objects.filter(
        account=account, granted=True, client_id__in=client_ids
    ).values_list("client_id", "claim"):
        consented.setdefault(client_id, set()).add(claim)
    now = int(time.time())
    targets = []
    for stream in _streams(client_ids, events.CLAIMS_CHANGE):
        allowed = consented.get(stream.client_id, set()) & set(stream.client.claims or claims)
        visible = {name: value for name, value in claims.items() if name in allowed}
        if not visible:
            continue
        body = _reasons({"event_timestamp": now, "initiating_entity": "system", "claims": visible}, reason)
        targets.append((stream, sub_for(stream.client, account), body))
    return _queue(account, targets, events.CLAIMS_CHANGE, txn)


def emit_credential_change(
    account: Any,
    *,
    credential_type: str,
    change_type: str,
    friendly_name: str = "",
    x509_issuer: str = "",
    x509_serial: str = "",
    fido2_aaguid: str = "",
    initiating_entity: str = "user",
    reason: str = "",
    txn: str | None = None,
) -> int:
    """CAEP credential-change: a passkey (fido2-*) or device certificate (x509) created or revoked."""
    _require_transaction()
    if credential_type not in events.CREDENTIAL_TYPES:
        raise ValueError(f"credential_type must be one of {events.CREDENTIAL_TYPES}")
    if change_type not in events.CHANGE_TYPES:
        raise ValueError(f"change_type must be one of {events.CHANGE_TYPES}")
    if initiating_entity not in events.INITIATING_ENTITIES:
        raise ValueError(f"initiating_entity must be one of {events.INITIATING_ENTITIES}")
    body: dict[str, Any] = {
        "event_timestamp": int(time.time()),
        "initiating_entity": initiating_entity,
        "credential_type": credential_type,
        "change_type": change_type,
    }
    for name, value in (
        ("friendly_name", friendly_name),
        ("x509_issuer", x509_issuer),
        ("x509_serial", x509_serial),
        ("fido2_aaguid", fido2_aaguid),
    ):
        if value:
            body[name] = value
    _reasons(body, reason)
    streams = _streams(connected_client_ids(account), events.CREDENTIAL_CHANGE)
    targets = [(s, sub_for(s.client, account), dict(body)) for s in streams]
    return _queue(account, targets, events.CREDENTIAL_CHANGE, txn)


def emit_session_revoked(
    account: Any, *, sid: str = "", initiating_entity: str = "user", reason: str = "", txn: str | None = None
) -> int:
    """CAEP session-revoked: to the clients holding grants from login session ``sid`` (every connected client when
    no sid is given, e.g. an emergency stop that ends all sessions)."""
    _require_transaction()
    if initiating_entity not in events.INITIATING_ENTITIES:
        raise ValueError(f"initiating_entity must be one of {events.INITIATING_ENTITIES}")
    if sid:
        client_ids = set(Grant.objects.filter(account=account, sid=sid).values_list("client_id", flat=True))
    else:
        client_ids = connected_client_ids(account)
    body = _reasons({"event_timestamp": int(time.time()), "initiating_entity": initiating_entity}, reason)
    streams = _streams(client_ids, events.SESSION_REVOKED)
    targets = [(s, sub_for(s.client, account), dict(body)) for s in streams]
    return _queue(account, targets, events.SESSION_REVOKED, txn)


def emit_account_status(account: Any, *, enabled: bool, reason: str, txn: str | None = None) -> int:
    """RISC account-enabled / account-disabled. RISC defines only ``hijacking`` and ``bulk-account`` as reasons
    for account-disabled; those go in ``reason``, any other reason (emergency stop, deletion) in
    ``reason_admin``."""
    _require_transaction()
    event_type = events.ACCOUNT_ENABLED if enabled else events.ACCOUNT_DISABLED
    body: dict[str, Any] = {"event_timestamp": int(time.time())}
    if not enabled and reason in events.RISC_DISABLED_REASONS:
        body["reason"] = reason
    else:
        _reasons(body, reason)
    streams = _streams(connected_client_ids(account), event_type)
    targets = [(s, sub_for(s.client, account), dict(body)) for s in streams]
    return _queue(account, targets, event_type, txn)
