"""A job runner in the database: no extra server, survives restarts, never runs one job twice at once.

Each job is a ``Job`` row. A runner takes the job's *lease* with one conditional UPDATE::

    UPDATE lifecycle_job SET lease_owner = me, lease_expires_at = now + lease
     WHERE name = 'sweep' AND (lease_expires_at IS NULL OR lease_expires_at < now)

It either changes the row (this runner holds the lease) or not (someone else does). The statement is atomic on
SQLite (one writer at a time) and on PostgreSQL (the second UPDATE waits on the row lock, then re-checks the WHERE
clause against the committed row and matches nothing), so two runners -- threads, processes, machines sharing the
database -- cannot both hold it. A runner that dies mid-run leaves a lease that expires after
``ANCHORID_SWEEP_LEASE`` seconds; the next runner takes over. Schedule and failure count live in the row too, so a
restart picks up where the last process left: a failed run is retried after ``retry_base * 2**(failures-1)``
seconds (capped, ±20 % jitter), a successful one schedules the next after ``ANCHORID_SWEEP_INTERVAL``.

The idp's worker (``anchorid.idp.jobs``) calls :func:`scheduled_sweep` every ``POLL_SECONDS``; ``anchorid idp
sweep`` runs one by hand through the same lease (:func:`run_job` with ``force``).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from anchorid.common import request_id
from anchorid.idp import metrics
from anchorid.idp.lifecycle import conf
from anchorid.idp.lifecycle.models import Job

log = logging.getLogger(__name__)
SWEEP = "sweep"
JITTER = 0.2
#: How often the background runner looks at the schedule (at most; less when the interval is shorter).
POLL_SECONDS = 30.0


class LeaseHeld(Exception):
    """Another runner holds this job's lease: it is running now."""


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def ensure_job(name: str) -> Job:
    job, _ = Job.objects.get_or_create(name=name, defaults={"next_run_at": timezone.now()})
    return job


def acquire(name: str, owner: str, *, now: datetime | None = None, due_only: bool = False) -> bool:
    """Take the lease of job ``name`` for ``owner`` (one UPDATE); ``due_only``: only when its time has come."""
    ensure_job(name)
    now = now or timezone.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    query = Job.objects.filter(free, name=name)
    if due_only:
        query = query.filter(next_run_at__lte=now)
    taken = query.update(
        lease_owner=owner, lease_expires_at=now + timedelta(seconds=conf.lease_seconds()), last_started_at=now
    )
    return taken == 1


def release(
    name: str, owner: str, *, ok: bool, error: str = "", now: datetime | None = None, interval: float | None = None
) -> None:
    """End ``owner``'s lease and schedule the next run (``interval``, default the sweep's, after success; backoff
    after failure)."""
    now = now or timezone.now()
    job = Job.objects.get(name=name)
    if ok:
        failures = 0
        delay = conf.sweep_interval() if interval is None else interval
    else:
        failures = job.failures + 1
        delay = backoff_seconds(failures)
    Job.objects.filter(name=name, lease_owner=owner).update(
        lease_owner="",
        lease_expires_at=None,
        failures=failures,
        last_finished_at=now,
        last_status=Job.Status.OK if ok else Job.Status.FAILED,
        last_error=error[:500],
        next_run_at=now + timedelta(seconds=max(delay, 1.0)),
    )


def backoff_seconds(failures: int) -> float:
    """``retry_base * 2**(failures-1)``, at most ``retry_max``, with ±20 % jitter."""
    base = conf.retry_base() * 2 ** max(failures - 1, 0)
    capped = min(base, conf.retry_max())
    return float(capped * random.uniform(1 - JITTER, 1 + JITTER))  # jitter, not a secret


@dataclass(frozen=True, slots=True)
class JobResult:
    ok: bool
    value: Any = None
    error: str = ""


def run_job(
    name: str,
    work: Callable[[], Any],
    *,
    owner: str | None = None,
    force: bool = False,
    interval: float | None = None,
) -> JobResult | None:
    """Run ``work`` under job ``name``'s lease: None when not due (unless ``force``); LeaseHeld when it runs
    elsewhere. A failure is recorded (and scheduled for retry), not raised: see ``JobResult.error``. ``interval``:
    seconds to the next run after a success (default: the sweep interval; other jobs pass their own)."""
    owner = owner or runner_id()
    if not acquire(name, owner, due_only=not force):
        if force:
            raise LeaseHeld(f"job {name!r} is running in another process")
        return None
    with request_id.bound(request_id.current() or None):  # a run in the background gets a request id of its own
        return _run_leased(name, work, owner, interval)


def _run_leased(name: str, work: Callable[[], Any], owner: str, interval: float | None) -> JobResult:
    started = time.monotonic()
    stop = threading.Event()
    heartbeat = threading.Thread(target=_heartbeat, args=(name, owner, stop), name=f"{name}-lease", daemon=True)
    heartbeat.start()
    try:
        value = work()
    except Exception as error:
        stop.set()
        heartbeat.join()
        message = str(error) or error.__class__.__name__
        release(name, owner, ok=False, error=message, interval=interval)
        metrics.job_run(name, False, started)
        log.warning("job %s failed (will retry with backoff): %s", name, message, extra={"job": name})
        return JobResult(ok=False, error=message)
    stop.set()
    heartbeat.join()
    release(name, owner, ok=True, interval=interval)
    metrics.job_run(name, True, started)
    return JobResult(ok=True, value=value)


def _heartbeat(name: str, owner: str, stop: threading.Event) -> None:
    """Extend the lease while the work runs (a long refresh must not let a second runner in)."""
    lease = conf.lease_seconds()
    try:
        while not stop.wait(lease / 3):
            Job.objects.filter(name=name, lease_owner=owner).update(
                lease_expires_at=timezone.now() + timedelta(seconds=lease)
            )
    finally:
        close_old_connections()
        from django.db import connection

        connection.close()


def sweep_work(trigger: str) -> Callable[[], Any]:
    def work() -> Any:
        from anchorid.idp.guardians import transitions
        from anchorid.idp.lifecycle.sweep import run_sweep

        result = run_sweep(trigger=trigger)
        transitions.run()  # children: re-anchored at 15, guardianship ended at 18 (docs/guardians.md)
        return result

    return work


def scheduled_sweep(owner: str) -> Callable[[], Any]:
    """The ``lifecycle-sweep`` job of the idp's worker: every worker calls it every ``POLL_SECONDS``; the sweep
    runs when due, under its own lease (this module), and a failed sweep fails the worker's run."""
    from anchorid.common.worker.registry import JobFailed

    def work() -> bool:
        result = run_job(SWEEP, sweep_work("schedule"), owner=owner)
        if result is None:
            return False
        if not result.ok:
            raise JobFailed(result.error)
        log.info("lifecycle sweep done: %s", result.value.as_json())
        return False

    return work
