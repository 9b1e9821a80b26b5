"""One-time ``jti`` values (client assertions, RFC 7523 §3 item 7; DPoP proofs, RFC 9449 §11.1).

A jti is remembered until the token carrying it would be refused anyway: its expiry is derived from the token
itself (the assertion's ``exp``; the DPoP proof's ``iat`` plus the accepted window), so a replay of the same token
always computes the same expiry. Every worker and every instance sees the same record (docs/shared-state.md):

- In the database (no Redis, or ``ANCHORID_REPLAY_CACHE=database``): one statement per request, ``INSERT …
  ON CONFLICT DO NOTHING RETURNING key`` (SQLite and PostgreSQL), naming the values that were new; the token and
  PAR endpoints record the assertion's and the proof's jti in that one statement. Expired rows are purged once per
  time bucket (``BUCKET_SECONDS``) by each process that inserts.
- In Redis (``ANCHORID_REPLAY_CACHE``; ``shared`` whenever ``REDIS_URL`` is set, ``anchorid.common.shared_cache``):
  time-bucketed replay sets. A jti goes into the set of its expiry's bucket (``SADD``: 1 = new, 0 = a replay, atomic
  on any worker or instance); the set expires one bucket after its last member would, so the sets hold at most the
  jtis of the accepted window plus one bucket. Every jti of a request in one pipelined round trip, no database
  write. The trade-off: a Redis restart without persistence forgets the jtis of the last few minutes (a proof lives
  61 s, an assertion at most 5 min), so ``ANCHORID_REPLAY_CACHE=database`` keeps them in the database.
- Any other cache alias: one ``add`` per jti (``SET NX`` semantics) with the remaining lifetime as timeout.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.utils import timezone

from anchorid.idp.oidc.models import SeenJti

BUCKET_SECONDS = 16  # replay sets (Redis) and purges (database) are per 16 s of expiry
_last_purge = {"bucket": 0}


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
    bucket = int(time.time()) // BUCKET_SECONDS
    if bucket != _last_purge["bucket"]:  # once per bucket per process: the table holds about one window of jtis
        _last_purge["bucket"] = bucket
        SeenJti.objects.filter(expires_at__lt=timezone.now()).delete()
    return fresh


def _record_in_cache(alias: str, entries: list[Pending]) -> set[str]:
    cache = caches[alias]
    if isinstance(cache, RedisCache):
        return _record_in_redis(cache, entries)
    now = timezone.now()
    fresh = set()
    for entry in entries:
        ttl = max(1, int((entry.expires_at - now).total_seconds()) + 1)
        if cache.add(f"anchorid:jti:{entry.key}", 1, timeout=ttl):
            fresh.add(entry.key)
    return fresh


def _record_in_redis(cache: RedisCache, entries: list[Pending]) -> set[str]:
    """Time-bucketed replay sets: ``SADD`` into the set of the jti's expiry bucket, which expires one bucket after
    the last expiry it can hold; all of a request's jtis in one pipelined round trip."""
    client = cache._cache.get_client(write=True)
    pipeline = client.pipeline(transaction=False)
    for entry in entries:
        bucket = int(entry.expires_at.timestamp()) // BUCKET_SECONDS
        name = cache.make_and_validate_key(f"anchorid:jti:{bucket}")
        pipeline.sadd(name, entry.key)
        pipeline.expireat(name, (bucket + 1) * BUCKET_SECONDS + 1)
    added = pipeline.execute()[::2]
    return {entry.key for entry, new in zip(entries, added, strict=True) if new}
