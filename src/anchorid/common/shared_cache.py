"""Redis as the shared store of a party's short-lived state, when ``REDIS_URL`` is set (docs/shared-state.md).

Without ``REDIS_URL`` nothing here changes anything: Django's ``default`` cache stays the per-process memory
cache it always was, and every piece of state that must hold across workers (rate-limit counters, one-time jtis,
sessions) lives in the party's database.

With ``REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/0``) each party gets a second cache alias, ``shared``: Django's
own ``django.core.cache.backends.redis.RedisCache`` (the ``redis`` package speaks the protocol; we never do), its
keys prefixed with ``anchorid:<party>`` so that every party can share one Redis database. Two stores then move
there unless a setting says otherwise:

- rate-limit counters (``ANCHORID_RATELIMIT_CACHE``, ``anchorid.common.ratelimit``): ``add`` + ``incr``;
- the idp's one-time jtis of client assertions and DPoP proofs (``ANCHORID_REPLAY_CACHE``,
  ``anchorid.idp.oidc.replay``): time-bucketed replay sets, an atomic ``SADD`` into the set of the jti's expiry
  bucket, the set expiring one bucket after its last member.

Each of the two settings is resolved the same way (``store_alias``): unset → ``shared`` when ``REDIS_URL`` is set,
else the database; ``database`` → the database even with Redis; any other value → that cache alias.
"""

from __future__ import annotations

from typing import Any

#: The alias of the Redis cache in ``CACHES`` when ``REDIS_URL`` is set.
SHARED = "shared"
#: The value of a store setting that keeps the store in the party's database even when Redis is configured.
DATABASE = "database"


def redis_url() -> str | None:
    from anchorid.common import config

    return config.REDIS_URL.value()


def cache_settings(party: str) -> dict[str, dict[str, Any]]:
    """Django's ``CACHES`` for ``party``: the per-process ``default`` as before, plus ``shared`` (Redis) when
    ``REDIS_URL`` is set."""
    caches: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"anchorid-{party}"}
    }
    url = redis_url()
    if url:
        caches[SHARED] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"anchorid:{party}",
            # A stalled Redis must not hold a request (or a worker) forever: fail the request, answer 500, go on.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    return caches


def store_alias(configured: str | None) -> str | None:
    """The cache alias a store (rate-limit counters, replay jtis) uses, or ``None`` for the party's database."""
    if configured is None or not configured.strip():
        return SHARED if redis_url() else None
    configured = configured.strip()
    return None if configured == DATABASE else configured
