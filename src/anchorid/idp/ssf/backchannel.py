"""Back-Channel Logout 1.0 through an outbox: tried at once, retried until it lands.

At logout, ``notify`` writes one ``LogoutDelivery`` row per client that holds a grant from the login session and
registered a ``backchannel_logout_uri`` (§2.5), then POSTs each Logout Token at once (as before: the resident's
other sessions end within the logout request when the clients answer). A client that does not answer 200/204
(§2.8) gets it again from the delivery worker: after ``ANCHORID_SSF_RETRY_BASE``·2^(n−1) seconds with jitter,
until ``ANCHORID_BACKCHANNEL_LOGOUT_GIVE_UP`` seconds (default 3600) have passed — a logout an hour late still ends
a session the client would otherwise keep. Each attempt signs a fresh Logout Token (its ``exp`` is short, §2.4),
so a retried logout is never refused for being expired; a logout is idempotent at the client.

The URI was registered by city staff (``clients.check_uri``: https, or http on localhost), so it is not put through
the push-endpoint SSRF guard; redirects are not followed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
from django.db import connection, transaction
from django.utils import timezone

from anchorid.common import request_id
from anchorid.idp.oidc import config
from anchorid.idp.oidc.models import Grant
from anchorid.idp.oidc.pairwise import subject_for
from anchorid.idp.ssf import conf
from anchorid.idp.ssf.delivery import backoff
from anchorid.idp.ssf.models import LogoutDelivery

logger = logging.getLogger("anchorid.idp.oidc.logout")
BATCH = 50
_TABLE = LogoutDelivery._meta.db_table


def give_up_after() -> float:
    return conf.backchannel_logout_give_up()


def queue(sid: str) -> list[int]:
    """One row per client with a grant from session ``sid`` and a back-channel logout URI; their ids."""
    rows: list[LogoutDelivery] = []
    seen: set[str] = set()
    with transaction.atomic():
        for grant in Grant.objects.filter(sid=sid).select_related("client").order_by("created_at"):
            client = grant.client
            if client.client_id in seen or not client.backchannel_logout_uri:
                continue
            seen.add(client.client_id)
            sub = subject_for(client.sector, client.public_sub, grant.account_id)
            rows.append(LogoutDelivery(client=client, sub=sub, sid=sid))
        created = LogoutDelivery.objects.bulk_create(rows)
    return [row.id for row in created]


def _post(row: LogoutDelivery) -> str:
    """'' when the client took it, else why not."""
    from anchorid.idp.oidc.logout import logout_token

    token = logout_token(row.client, row.sub, row.sid)
    try:
        response = requests.post(
            row.client.backchannel_logout_uri,
            data={"logout_token": token},
            headers=request_id.outgoing_headers(),
            timeout=config.BACKCHANNEL_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return type(error).__name__
    return "" if response.status_code in (200, 204) else f"HTTP {response.status_code}"


def _attempt(row: LogoutDelivery) -> bool:
    error = _post(row)
    now = timezone.now()
    attempts = row.attempts + 1
    if not error:
        LogoutDelivery.objects.filter(id=row.id).update(
            state=LogoutDelivery.State.DELIVERED, attempts=attempts, delivered_at=now, last_error="", lease_until=None
        )
        return True
    logger.warning("back-channel logout to client %s failed: %s", row.client_id, error)
    if (now - row.created_at).total_seconds() >= give_up_after():
        LogoutDelivery.objects.filter(id=row.id).update(
            state=LogoutDelivery.State.DEAD, attempts=attempts, last_error=error, lease_until=None
        )
    else:
        LogoutDelivery.objects.filter(id=row.id).update(
            attempts=attempts,
            last_error=error,
            lease_until=None,
            next_attempt_at=now + timedelta(seconds=backoff(attempts)),
        )
    return False


def notify(sid: str) -> tuple[int, int]:
    """Queue the logouts of session ``sid`` and try each at once; returns (delivered, failed-for-now)."""
    delivered = failed = 0
    for row in LogoutDelivery.objects.filter(id__in=queue(sid)).select_related("client").order_by("id"):
        if _attempt(row):
            delivered += 1
        else:
            failed += 1
    return delivered, failed


_CLAIM_SQL = """
UPDATE {table} SET lease_until = %s
WHERE id IN (
  SELECT id FROM {table}
  WHERE state = %s AND next_attempt_at <= %s AND (lease_until IS NULL OR lease_until < %s)
  ORDER BY id LIMIT {limit} {lock}
)
RETURNING id
"""


def claim_due() -> list[int]:
    """Lease due retries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one atomic UPDATE on SQLite)."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(table=_TABLE, limit=BATCH, lock=lock),
            [adapt(now + timedelta(seconds=conf.lease_seconds())), LogoutDelivery.State.PENDING, adapt(now),
             adapt(now)],
        )  # fmt: skip
        return [int(row[0]) for row in cursor.fetchall()]


def retry_due() -> int:
    """Retry every due logout once; returns how many were delivered."""
    delivered = 0
    while True:
        ids = claim_due()
        if not ids:
            return delivered
        for row in LogoutDelivery.objects.filter(id__in=ids).select_related("client").order_by("id"):
            with request_id.bound():  # a retry in the background: a fresh request id per attempt
                delivered += _attempt(row)
