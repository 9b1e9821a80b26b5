"""Rate limits: at most N attempts per key (an IP, a certificate, an account) in a fixed window.

The counters are shared by every worker of the party (docs/decisions.md, "Rate-limit counters live in the party's
database"): a limit of 10 allows 10, however many Granian workers or machines answer.

- By default they live in the party's own database (table ``anchorid_common_ratelimitcounter``), counted with
  one atomic upsert (``INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits``: SQLite >= 3.35 and
  PostgreSQL). Rows of windows that have ended are pruned as new rows are made, so the table stays bounded.
- With ``REDIS_URL`` set they live in Redis (the ``shared`` cache, ``anchorid.common.shared_cache``), or in the
  cache alias ``ANCHORID_RATELIMIT_CACHE`` names (``database`` keeps them in the database), counted with ``add`` +
  ``incr`` (atomic in Redis and memcached). Never point it at a per-process cache (``LocMemCache``) in a
  deployment with more than one worker: each worker would count alone.

A count made inside a transaction belongs to that transaction: count before it (the views here do), or a
rollback forgets the attempt.

Usage::

    ONBOARDING_PER_IP = Limit("onboarding-ip", attempts=20, window_seconds=600)
    hit(ONBOARDING_PER_IP, client_ip(request))   # raises RateLimited when over the limit

Keys are hashed before they are stored, so a certificate fingerprint, a username or an IP address is never kept
as is.

Any limit can be changed by name without touching code: ``ANCHORID_RATE_LIMITS`` (a setting, or JSON in the
environment variable of that name) maps a limit's name to ``[attempts, window_seconds]``, e.g.
``{"login-ip": [600, 600]}`` for a city hall whose residents share one address, or a benchmark run.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import connections, router
from django.http import HttpRequest

#: Seconds between two prunes of ended windows by one process (a prune runs when a new counter row is made).
PRUNE_EVERY_SECONDS = 30
_last_prune = 0.0


@dataclass(frozen=True, slots=True)
class Limit:
    """``attempts`` allowed per ``window_seconds`` for each key; ``name`` separates the counters of each limit."""

    name: str
    attempts: int
    window_seconds: int


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` seconds until the window ends."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(f"rate limit {limit.name}: more than {limit.attempts} attempts in {limit.window_seconds} s")
        self.limit = limit
        self.retry_after = retry_after


def _counter_key(limit: Limit, key: str, window: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"anchorid:ratelimit:{limit.name}:{window}:{digest}"


def _cache() -> BaseCache | None:
    """The shared cache the counters live in, or ``None`` for the party's database."""
    alias = getattr(settings, "ANCHORID_RATELIMIT_CACHE", None)
    return caches[alias] if alias else None


def configured(limit: Limit) -> Limit:
    """The limit as the deployment configured it (``ANCHORID_RATE_LIMITS``), else as the code defined it."""
    override = getattr(settings, "ANCHORID_RATE_LIMITS", {}).get(limit.name)
    if override is None:
        return limit
    attempts, seconds = override
    return Limit(limit.name, attempts=int(attempts), window_seconds=int(seconds))


def _retry_after(limit: Limit, window: int, now: float) -> int:
    return int((window + 1) * limit.window_seconds - now) + 1


def _table() -> tuple[str, str]:
    from anchorid.common.models import RateLimitCounter

    alias = router.db_for_write(RateLimitCounter)
    return alias, connections[alias].ops.quote_name(RateLimitCounter._meta.db_table)


def _count_in_database(counter_key: str, expires_at: int, now: float) -> int:
    alias, table = _table()
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (counter_key, hits, expires_at) VALUES (%s, 1, %s) "  # noqa: S608 (our table name)
            f"ON CONFLICT (counter_key) DO UPDATE SET hits = {table}.hits + 1 RETURNING hits",
            [counter_key, expires_at],
        )
        row = cursor.fetchone()
    count = int(row[0])
    global _last_prune
    if count == 1 and abs(now - _last_prune) >= PRUNE_EVERY_SECONDS:
        _last_prune = now
        prune(now=now)
    return count


def _count_in_cache(cache: BaseCache, counter_key: str, timeout: int) -> int:
    cache.add(counter_key, 0, timeout=timeout)
    try:
        return int(cache.incr(counter_key))
    except ValueError:  # expired between add and incr: start the window again
        cache.add(counter_key, 1, timeout=timeout)
        return 1


def hit(limit: Limit, key: str, *, now: float | None = None) -> int:
    """Count one attempt for ``key``; return the attempts so far in this window, or raise :class:`RateLimited`."""
    limit = configured(limit)
    now = time.time() if now is None else now
    window = int(now // limit.window_seconds)
    counter_key = _counter_key(limit, key, window)
    cache = _cache()
    if cache is None:
        count = _count_in_database(counter_key, (window + 1) * limit.window_seconds, now)
    else:
        count = _count_in_cache(cache, counter_key, limit.window_seconds + 1)
    if count > limit.attempts:
        raise RateLimited(limit, _retry_after(limit, window, now))
    return count


def check(limit: Limit, key: str, *, now: float | None = None) -> None:
    """Raise :class:`RateLimited` if ``key`` has used all its attempts in this window, without counting one (a
    lockout: the attempt is refused before it is tried)."""
    limit = configured(limit)
    now = time.time() if now is None else now
    window = int(now // limit.window_seconds)
    if count(limit, key, now=now) >= limit.attempts:
        raise RateLimited(limit, _retry_after(limit, window, now))


def count(limit: Limit, key: str, *, now: float | None = None) -> int:
    """The attempts counted for ``key`` in this window."""
    limit = configured(limit)
    now = time.time() if now is None else now
    counter_key = _counter_key(limit, key, int(now // limit.window_seconds))
    cache = _cache()
    if cache is not None:
        return int(cache.get(counter_key, 0))
    from django.db import connection

    from anchorid.common.models import RateLimitCounter

    # One raw indexed read: the ORM's query building cost more than the read itself, three times per token request
    # (the idp's guessing limits, issue #13).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT hits FROM {RateLimitCounter._meta.db_table} WHERE counter_key = %s", [counter_key])  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def locked(checks: list[tuple[Limit, str]], *, now: float | None = None) -> list[int | None]:
    """``check`` for several keys with one read (one indexed ``IN`` statement, or one ``get_many``): for each
    (limit, key) the seconds until its window ends when it has used all its attempts, else None. Nothing counted."""
    now = time.time() if now is None else now
    limits = [configured(limit) for limit, _ in checks]
    windows = [int(now // limit.window_seconds) for limit in limits]
    keys = [_counter_key(limit, key, window) for limit, (_, key), window in zip(limits, checks, windows, strict=True)]
    if not keys:
        return []
    cache = _cache()
    if cache is not None:
        hits = {name: int(value) for name, value in cache.get_many(keys).items()}
    else:
        from django.db import connection

        from anchorid.common.models import RateLimitCounter

        marks = ", ".join(["%s"] * len(keys))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT counter_key, hits FROM {RateLimitCounter._meta.db_table} WHERE counter_key IN ({marks})",  # noqa: S608
                keys,
            )
            hits = {name: int(value) for name, value in cursor.fetchall()}
    return [
        _retry_after(limit, window, now) if hits.get(name, 0) >= limit.attempts else None
        for limit, window, name in zip(limits, windows, keys, strict=True)
    ]


def reset(limit: Limit, key: str, *, now: float | None = None) -> None:
    """Forget the current window's count for ``key`` (e.g. after a successful login)."""
    limit = configured(limit)
    now = time.time() if now is None else now
    counter_key = _counter_key(limit, key, int(now // limit.window_seconds))
    cache = _cache()
    if cache is not None:
        cache.delete(counter_key)
        return
    from anchorid.common.models import RateLimitCounter

    RateLimitCounter.objects.filter(counter_key=counter_key).delete()


def prune(*, now: float | None = None) -> int:
    """Delete the counters of windows that have ended; return how many. (A shared cache expires its own.)"""
    from anchorid.common.models import RateLimitCounter

    now = time.time() if now is None else now
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lte=int(now)).delete()
    return deleted


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a proxy, set ``ANCHORID_TRUSTED_PROXY_HOPS`` to read X-Forwarded-For that far."""
    hops = int(getattr(settings, "ANCHORID_TRUSTED_PROXY_HOPS", 0))
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return str(forwarded[-hops])
    return str(request.META.get("REMOTE_ADDR", "unknown"))
