"""One-time ``jti`` values (client assertions, RFC 7523 §3 item 7; DPoP proofs, RFC 9449 §11.1).

A jti is remembered in the database until the token carrying it would be refused anyway (its ``exp`` or the DPoP
``iat`` window), so every worker and every machine sees the same record. One statement per check:
``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL); a row count of 0 means the value was seen before.
The token and PAR endpoints record the client assertion's and the DPoP proof's jti in one statement
(``record``: ``… ON CONFLICT DO NOTHING RETURNING key`` names the values that were new). Expired rows are purged now
and then by whoever inserts.

With a shared cache (``ANCHORID_REPLAY_CACHE``; Redis whenever ``REDIS_URL`` is set, ``anchorid.common.shared_cache``)
the jtis live there instead: one ``add`` per value — Redis's atomic ``SET NX`` with the value's remaining lifetime
as TTL — which only the first caller on any worker or instance wins. That takes one write per token request off
the database. The trade-off: a Redis restart without persistence forgets the jtis of the last few minutes (a
proof lives 65 s, an assertion at most 5 min), so ``ANCHORID_REPLAY_CACHE=database`` keeps them in the database.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from anchorid.idp.oidc.models import SeenJti

PURGE_ONE_IN = 500


@dataclass(frozen=True, slots=True)
class Pending:
    """A jti checked but not recorded yet (see ``record``)."""

    purpose: str
    key: str
    expires_at: datetime


def pending(purpose: str, issuer: str, jti: str, expires_at: datetime) -> Pending:
    return Pending(purpose, hashlib.sha256(f"{purpose}\x00{issuer}\x00{jti}".encode()).hexdigest(), expires_at)


def first_use(purpose: str, issuer: str, jti: str, expires_at: datetime) -> bool:
    """Record ``jti`` for ``purpose`` and ``issuer``; False when it was recorded before (a replay)."""
    entry = pending(purpose, issuer, jti, expires_at)
    return entry.key in record([entry])


def record(entries: list[Pending]) -> set[str]:
    """Record several jtis (one statement, or one ``add`` each in the shared cache); returns the keys that were new
    (the others are replays)."""
    alias = getattr(settings, "ANCHORID_REPLAY_CACHE", None)
    if alias:
        return _record_in_cache(alias, entries)
    table = SeenJti._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    values = ", ".join(["(%s, %s)"] * len(entries))
    params: list[Any] = []
    for entry in entries:
        params += [entry.key, adapt(entry.expires_at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, expires_at) VALUES {values} ON CONFLICT (key) DO NOTHING RETURNING key",  # noqa: S608
            params,
        )
        fresh = {row[0] for row in cursor.fetchall()}
    if random.randrange(PURGE_ONE_IN) == 0:
        SeenJti.objects.filter(expires_at__lt=timezone.now()).delete()
    return fresh


def _record_in_cache(alias: str, entries: list[Pending]) -> set[str]:
    cache = caches[alias]
    now = timezone.now()
    fresh = set()
    for entry in entries:
        ttl = max(1, int((entry.expires_at - now).total_seconds()) + 1)
        if cache.add(f"anchorid:jti:{entry.key}", 1, timeout=ttl):
            fresh.add(entry.key)
    return fresh
