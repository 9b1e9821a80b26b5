"""Rate limits of the idp: the shared implementation lives in ``anchorid.common.ratelimit`` (every party uses
it); this name stays so that existing imports keep working."""

from __future__ import annotations

from anchorid.common.ratelimit import (
    Limit,
    RateLimited,
    check,
    client_ip,
    configured,
    count,
    hit,
    locked,
    prune,
    reset,
)

__all__ = ["Limit", "RateLimited", "check", "client_ip", "configured", "count", "hit", "locked", "prune", "reset"]
