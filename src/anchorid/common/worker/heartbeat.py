"""The heartbeat row of each running worker: who it is (party, host, pid), when it last beat, how its jobs' last
runs ended (status and time, never their data). ``/readyz`` wants a fresh one."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from anchorid.common.models import WorkerHeartbeat
from anchorid.common.worker import conf

#: Rows of workers that stopped (or died) this long ago are removed by the next beat of any worker.
FORGET_AFTER = timedelta(days=1)


def instance_id() -> str:
    """``host:pid:random``: unique per worker process, and says where it runs."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def beat(instance: str, party: str, started_at: datetime, jobs: dict[str, Any]) -> None:
    now = timezone.now()
    fields = {"party": party, "host": socket.gethostname()[:255], "pid": os.getpid(), "started_at": started_at,
              "last_beat": now, "stopped_at": None, "jobs": jobs}  # fmt: skip
    if not WorkerHeartbeat.objects.filter(instance=instance).update(**fields):
        WorkerHeartbeat.objects.create(instance=instance, **fields)
    WorkerHeartbeat.objects.filter(last_beat__lt=now - FORGET_AFTER).delete()


def stopped(instance: str, jobs: dict[str, Any]) -> None:
    WorkerHeartbeat.objects.filter(instance=instance).update(stopped_at=timezone.now(), jobs=jobs)


def fresh(party: str, *, now: datetime | None = None) -> WorkerHeartbeat | None:
    """The most recent heartbeat of a running worker of ``party`` within the stale limit, or None."""
    now = now or timezone.now()
    since = now - timedelta(seconds=conf.stale_seconds())
    return (
        WorkerHeartbeat.objects.filter(party=party, stopped_at__isnull=True, last_beat__gte=since)
        .order_by("-last_beat")
        .first()
    )
