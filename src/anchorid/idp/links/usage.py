"""The audit log's ``link_used`` entries, appended in batches from the exchange records.

An exchange writes one row (``LinkExchange``, in the exchange's one INSERT) and answers; the ``link-use-audit``
job of the idp's worker (every ``INTERVAL`` seconds, leased: one worker at a time) appends a ``link_used`` entry per
row not yet audited — ids and scope names, never data — with ``append_many`` (one lock of the audit head per batch)
and marks the rows, in one transaction. A use is therefore in the audit log within seconds, and never lost: the row
is durable before the token is returned. Per exchange, the audit head is not locked (it would serialise every
exchange of every worker). docs/protocols/token-exchange.md §9.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from anchorid.idp.audit.chain import append_many
from anchorid.idp.audit.events import EventType
from anchorid.idp.links.models import LinkExchange
from anchorid.idp.oidc.consent import _audit_id as audit_id

INTERVAL = 2.0
BATCH = 500


def audit_uses(limit: int = BATCH) -> int:
    """Append the ``link_used`` entries of up to ``limit`` unaudited exchanges, oldest first; how many."""
    with transaction.atomic():
        rows = list(
            LinkExchange.objects.select_for_update()
            .filter(audited=False)
            .select_related("consent")
            .order_by("created_at", "jti")[:limit]
        )
        if not rows:
            return 0
        items: list[tuple[EventType | str, str, str, Mapping[str, Any] | None]] = []
        for row in rows:
            consent = row.consent
            caller = audit_id(consent.source_id)
            details = {
                "link_id": consent.id,
                "client_id": caller,
                "target_id": audit_id(consent.target_id),
                "scopes": row.scope.split()[:32],
                "further": row.parent_id is not None,
            }
            items.append((EventType.LINK_USED, str(consent.account_id), f"client:{caller}"[:128], details))
        append_many(items)
        LinkExchange.objects.filter(jti__in=[row.jti for row in rows]).update(audited=True)
    return len(rows)


def job_work() -> None:
    """The worker's ``link-use-audit`` job: batches until none is left."""
    while audit_uses() == BATCH:
        pass
