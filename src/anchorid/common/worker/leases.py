"""A job's lease in the party's database (``JobLease``), taken with one conditional UPDATE::

    UPDATE anchorid_common_joblease SET lease_owner = me, lease_until = now + lease
     WHERE name = 'booking-expiry' AND (lease_until IS NULL OR lease_until < now) AND next_run_at <= now

It changes the row (this worker holds the lease) or not (the job is not due, or runs elsewhere). The statement is
atomic on SQLite (one writer at a time) and on PostgreSQL (a second UPDATE waits on the row lock, then re-checks
its WHERE clause against the committed row and matches nothing), so two workers cannot both hold it. While the
job runs, a thread renews the lease every third of its length; a worker killed mid-run leaves a lease that ends
``ANCHORID_WORKER_LEASE_SECONDS`` later, and the next worker that looks takes the job over. A release or renewal
names its owner, so a late one from a worker that lost its lease changes nothing.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from anchorid.common.models import JobLease
from anchorid.common.worker import conf
from anchorid.common.worker.registry import Job

log = logging.getLogger(__name__)
#: Seconds before the first retry of a failed run; it doubles per consecutive failure, up to the job's interval.
RETRY_BASE_SECONDS = 5.0
JITTER = 0.2


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    error: str = ""


def ensure(job: Job, *, now: datetime | None = None) -> None:
    """The job's row; a new job first runs one interval after its row is made (not at every worker start)."""
    now = now or timezone.now()
    JobLease.objects.get_or_create(name=job.name, defaults={"next_run_at": now + timedelta(seconds=job.interval)})


def acquire(name: str, owner: str, *, now: datetime | None = None, due_only: bool = True) -> bool:
    """Take the lease of job ``name`` for ``owner`` (one UPDATE); ``due_only``: only when its time has come."""
    now = now or timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    query = JobLease.objects.filter(free, name=name)
    if due_only:
        query = query.filter(next_run_at__lte=now)
    taken = query.update(
        lease_owner=owner, lease_until=now + timedelta(seconds=conf.lease_seconds()), last_started_at=now
    )
    return taken == 1


def renew(name: str, owner: str) -> bool:
    until = timezone.now() + timedelta(seconds=conf.lease_seconds())
    return JobLease.objects.filter(name=name, lease_owner=owner).update(lease_until=until) == 1


def backoff_seconds(failures: int, interval: float) -> float:
    """``RETRY_BASE_SECONDS * 2**(failures-1)``, at most the job's interval, with ±20 % jitter."""
    base = min(RETRY_BASE_SECONDS * 2 ** max(failures - 1, 0), max(interval, RETRY_BASE_SECONDS))
    return float(base * random.uniform(1 - JITTER, 1 + JITTER))  # jitter, not a secret


def release(job: Job, owner: str, outcome: Outcome, *, now: datetime | None = None) -> None:
    """End ``owner``'s lease; the next run comes ``interval`` after a success, with backoff after a failure."""
    now = now or timezone.now()
    row = JobLease.objects.filter(name=job.name).values("failures").first()
    failures = 0 if outcome.ok else (row["failures"] if row else 0) + 1
    delay = job.interval if outcome.ok else backoff_seconds(failures, job.interval)
    JobLease.objects.filter(name=job.name, lease_owner=owner).update(
        lease_owner="",
        lease_until=None,
        failures=failures,
        last_finished_at=now,
        last_status=JobLease.Status.OK if outcome.ok else JobLease.Status.FAILED,
        last_error=outcome.error[:500],
        next_run_at=now + timedelta(seconds=delay),
    )


def describe(error: BaseException) -> str:
    """What a failure records: the exception's class and message (job code keeps personal data out of both)."""
    message = str(error)
    return f"{error.__class__.__name__}: {message}"[:500] if message else error.__class__.__name__


def run_if_due(job: Job, owner: str) -> Outcome | None:
    """Run ``job`` under its lease when it is due and no other worker holds it; None when it did not run."""
    ensure(job)
    if not acquire(job.name, owner):
        return None
    stop = threading.Event()
    renewer = threading.Thread(target=_renew_while_running, args=(job.name, owner, stop), daemon=True)
    renewer.name = f"{job.name}-lease"
    renewer.start()
    try:
        job.work()
        outcome = Outcome(ok=True)
    except Exception as error:
        outcome = Outcome(ok=False, error=describe(error))
        log.warning("job %s failed (retried with backoff): %s", job.name, outcome.error)
    finally:
        stop.set()
        renewer.join()
    release(job, owner, outcome)
    return outcome


def _renew_while_running(name: str, owner: str, stop: threading.Event) -> None:
    """Extend the lease while the work runs (a long run must not let a second worker in)."""
    try:
        while not stop.wait(conf.lease_seconds() / 3):
            if not renew(name, owner):
                log.warning("job %s: lease lost while running (this worker stalled past it)", name)
                return
    finally:
        close_old_connections()
        connection.close()
