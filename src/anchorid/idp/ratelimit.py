"""Rate limits: at most N attempts per key (an IP, a certificate, an account) in a fixed window.

Counters live in a Django cache (``ANCHORID_RATELIMIT_CACHE``, default ``"default"``). The embedded default is
Django's per-process memory cache, exact for one worker; a deployment with several workers or machines points
that alias at a shared cache (Redis, ARCHITECTURE.md "Beyond one machine"), where ``add`` + ``incr`` are atomic.

Usage::

    ONBOARDING_PER_IP = Limit("onboarding-ip", attempts=20, window_seconds=600)
    hit(ONBOARDING_PER_IP, client_ip(request))   # raises RateLimited when over the limit

Keys are hashed before they reach the cache, so a certificate fingerprint or an IP address is never stored as is.

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
from django.http import HttpRequest


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


def _cache_key(limit: Limit, key: str, window: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"anchorid:ratelimit:{limit.name}:{window}:{digest}"


def _cache() -> BaseCache:
    return caches[getattr(settings, "ANCHORID_RATELIMIT_CACHE", "default")]


def configured(limit: Limit) -> Limit:
    """The limit as the deployment configured it (``ANCHORID_RATE_LIMITS``), else as the code defined it."""
    override = getattr(settings, "ANCHORID_RATE_LIMITS", {}).get(limit.name)
    if override is None:
        return limit
    attempts, seconds = override
    return Limit(limit.name, attempts=int(attempts), window_seconds=int(seconds))


def hit(limit: Limit, key: str, *, now: float | None = None) -> int:
    """Count one attempt for ``key``; return the attempts so far in this window, or raise :class:`RateLimited`."""
    limit = configured(limit)
    now = time.time() if now is None else now
    window = int(now // limit.window_seconds)
    cache_key = _cache_key(limit, key, window)
    cache = _cache()
    cache.add(cache_key, 0, timeout=limit.window_seconds + 1)
    try:
        count = int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr: start the window again
        cache.add(cache_key, 1, timeout=limit.window_seconds + 1)
        count = 1
    if count > limit.attempts:
        retry_after = int((window + 1) * limit.window_seconds - now) + 1
        raise RateLimited(limit, retry_after)
    return count


def reset(limit: Limit, key: str, *, now: float | None = None) -> None:
    """Forget the current window's count for ``key`` (e.g. after a successful login)."""
    now = time.time() if now is None else now
    _cache().delete(_cache_key(limit, key, int(now // limit.window_seconds)))


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a proxy, set ``ANCHORID_TRUSTED_PROXY_HOPS`` to read X-Forwarded-For that far."""
    hops = int(getattr(settings, "ANCHORID_TRUSTED_PROXY_HOPS", 0))
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return str(forwarded[-hops])
    return str(request.META.get("REMOTE_ADDR", "unknown"))
