"""The worker's settings (the environment, then the default; Django settings of the same name win in tests).

- ``ANCHORID_WORKER``: ``0`` keeps ``anchorid serve`` from starting its embedded worker (as ``--no-worker``), for
  a deployment that runs ``anchorid worker PARTY`` on its own (default ``1``);
- ``ANCHORID_WORKER_BEAT_SECONDS``: seconds between a worker's heartbeats (default 10);
- ``ANCHORID_WORKER_STALE_SECONDS``: a heartbeat older than this is stale: ``/readyz`` fails its worker check
  (default 60);
- ``ANCHORID_WORKER_LEASE_SECONDS``: how long a job's lease lasts without renewal; a killed worker's jobs are taken
  over after at most this long (default 300; the runner renews it every third of it while a job runs);
- ``ANCHORID_WORKER_POLL_SECONDS``: the longest a worker waits between looks at a leased job's schedule
  (default 10; shorter when the job's interval is).
"""

from __future__ import annotations

import os

from django.conf import settings


def _number(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None


def embedded_enabled() -> bool:
    return os.environ.get("ANCHORID_WORKER", "1") != "0"


def beat_seconds() -> float:
    return max(0.1, _number("ANCHORID_WORKER_BEAT_SECONDS", 10))


def stale_seconds() -> float:
    return max(1.0, _number("ANCHORID_WORKER_STALE_SECONDS", 60))


def lease_seconds() -> float:
    return max(1.0, _number("ANCHORID_WORKER_LEASE_SECONDS", 300))


def poll_seconds() -> float:
    return max(0.05, _number("ANCHORID_WORKER_POLL_SECONDS", 10))
