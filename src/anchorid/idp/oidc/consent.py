"""Consent per claim: what the resident agreed to share with each service, and taking it back.

A ``ConsentDecision`` per (account, client, claim) records granted or declined. The consent screen is shown when a
request asks for any claim the resident has not decided on yet for that client, or asks again for a declined
essential claim, or says ``prompt=consent``; otherwise the earlier decisions apply. Asking for more therefore
re-prompts, and a deselected optional claim stays out of tokens and userinfo until the resident ticks it.
Giving and withdrawing consent are audit-logged (``consent_given`` / ``consent_withdrawn``: client and claim names,
never values). Withdrawing removes the decisions and revokes every grant the client holds for the resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection, models, transaction
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.audit.chain import append
from anchorid.idp.oidc.claims import RequestedClaims
from anchorid.idp.oidc.models import Client, ConsentDecision, Grant


def _db_value(name: str, value: object) -> Any:
    """A key as the database takes it in raw SQL (the account's UUID is hex text on SQLite, a uuid on PostgreSQL)."""
    field = cast(models.ForeignKey[Any, Any], ConsentDecision._meta.get_field(name))
    return field.get_db_prep_value(value, connection)


def decisions(account: Account, client: Client) -> dict[str, bool]:
    """The resident's decisions for this client, claim by claim: one raw indexed read (every authorization reads
    them; the ORM's query building cost more than the read, issue #13)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT claim, granted FROM {ConsentDecision._meta.db_table} WHERE account_id = %s AND client_id = %s",  # noqa: S608
            [_db_value("account", account.pk), _db_value("client", client.pk)],
        )
        return {claim: bool(granted) for claim, granted in cursor.fetchall()}


def needs_prompt(requested: RequestedClaims, known: dict[str, bool], *, forced: bool = False) -> bool:
    if forced:
        return True
    items = requested.essential.items()
    return any(claim not in known or (essential and not known[claim]) for claim, essential in items)


def granted(requested: RequestedClaims, known: dict[str, bool]) -> set[str]:
    return {claim for claim in requested.essential if known.get(claim)}


def record(account: Account, client: Client, requested: RequestedClaims, chosen_optional: set[str]) -> set[str]:
    """Store the resident's choice: essential claims granted, optional ones granted only when ticked."""
    now = timezone.now()
    result = {claim for claim, essential in requested.essential.items() if essential or claim in chosen_optional}
    with transaction.atomic():
        for claim in requested.essential:
            ConsentDecision.objects.update_or_create(
                account=account,
                client=client,
                claim=claim,
                defaults={"granted": claim in result, "decided_at": now},
            )
        append(
            "consent_given",
            subject=str(account.pk),
            actor=str(account.pk),
            details={"client_id": _audit_id(client.client_id), "claims": sorted(result)},
        )
    return result


def _audit_id(client_id: str) -> str:
    """Client ids are printable but may carry characters the audit log's id shape refuses; keep it an id."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._:/-") else "_" for c in client_id)
    return cleaned[:128] if cleaned[:1].isalnum() else ("c" + cleaned)[:128]


def withdraw(account: Account, client: Client) -> list[str]:
    """Withdraw every decision for ``client``; revoke its grants. Returns the claims that had been granted."""
    with transaction.atomic():
        rows = ConsentDecision.objects.select_for_update().filter(account=account, client=client)
        claims = sorted(row.claim for row in rows if row.granted)
        rows.delete()
        Grant.objects.filter(account=account, client=client, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason="consent_withdrawn"
        )
        append(
            "consent_withdrawn",
            subject=str(account.pk),
            actor=str(account.pk),
            details={"client_id": _audit_id(client.client_id), "claims": claims},
        )
    return claims


@dataclass(frozen=True, slots=True)
class ConnectedService:
    client_id: str
    name: str
    granted: list[str]
    declined: list[str]
    since: datetime


def connected_services(account: Account) -> list[ConnectedService]:
    """For self-service: each service the resident decided on, with the claims shared and declined."""
    rows = ConsentDecision.objects.filter(account=account).select_related("client").order_by("client_id", "claim")
    services: dict[str, ConnectedService] = {}
    for row in rows:
        service = services.get(row.client_id)
        if service is None:
            service = services[row.client_id] = ConnectedService(row.client_id, row.client.name, [], [], row.decided_at)
        (service.granted if row.granted else service.declined).append(row.claim)
        if row.decided_at < service.since:
            services[row.client_id] = ConnectedService(
                service.client_id, service.name, service.granted, service.declined, row.decided_at
            )
    return list(services.values())
