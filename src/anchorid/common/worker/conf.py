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

from anchorid.common import config


def embedded_enabled() -> bool:
    return config.WORKER.value()


def beat_seconds() -> float:
    return max(0.1, config.WORKER_BEAT_SECONDS.configured())


def stale_seconds() -> float:
    return max(1.0, config.WORKER_STALE_SECONDS.configured())


def lease_seconds() -> float:
    return max(1.0, config.WORKER_LEASE_SECONDS.configured())


def poll_seconds() -> float:
    return max(0.05, config.WORKER_POLL_SECONDS.configured())
