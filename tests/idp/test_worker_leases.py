"""Two workers on one database (``anchorid.common.worker``): a leased job never runs on both at once; a worker
killed (SIGKILL, a real process) while holding a job's lease loses it when the lease expires, and the survivor
runs the job; each worker keeps its heartbeat row (party, host, pid, its jobs' last results)."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.common.models import JobLease, WorkerHeartbeat
from anchorid.common.worker import heartbeat, leases
from anchorid.common.worker.registry import Job
from anchorid.common.worker.supervisor import Worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick(settings: Settings) -> None:
    settings.ANCHORID_WORKER_POLL_SECONDS = "0.02"
    settings.ANCHORID_WORKER_BEAT_SECONDS = "0.1"
    settings.ANCHORID_WORKER_LEASE_SECONDS = "1"


def _run(workers: list[Worker], seconds: float) -> None:
    stop = threading.Event()
    threads = [threading.Thread(target=worker.run, args=(stop,), daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
        assert not thread.is_alive()


def test_it_never_runs_a_leased_job_on_two_workers_at_once() -> None:
    lock = threading.Lock()
    running, most, runs = 0, 0, []

    def probe() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            runs.append(threading.current_thread().name)
        time.sleep(0.15)
        with lock:
            running -= 1

    job = Job("probe", 0.01, probe)
    JobLease.objects.create(name="probe", next_run_at=timezone.now())
    first, second = Worker("idp", [job]), Worker("idp", [job])
    _run([first, second], 3.0)
    assert most == 1
    assert len(runs) >= 5
    row = JobLease.objects.get(name="probe")
    assert (row.lease_owner, row.last_status, row.failures) == ("", JobLease.Status.OK, 0)
    beats = {beat.instance: beat for beat in WorkerHeartbeat.objects.all()}
    assert set(beats) == {first.instance, second.instance}
    for beat in beats.values():
        assert (beat.party, beat.pid) == ("idp", os.getpid())
        assert beat.stopped_at is not None
    assert sum(beat.jobs.get("probe", {}).get("runs", 0) for beat in beats.values()) == len(runs)


HOLD_LEASE = """
import os, sys, time
import django
django.setup()
from anchorid.common.worker import leases
assert leases.acquire("probe", "worker-to-be-killed")
print("held", flush=True)
time.sleep(600)
"""


def _database_url() -> str:
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    user, host, port = database["USER"], database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{database['NAME']}"


def test_it_takes_over_the_lease_of_a_killed_worker(tmp_path: Path) -> None:
    runs: list[datetime.datetime] = []
    job = Job("probe", 60, lambda: runs.append(timezone.now()))
    JobLease.objects.create(name="probe", next_run_at=timezone.now() - datetime.timedelta(seconds=1))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "anchorid.idp.settings", "DATABASE_URL": _database_url(),
           "ANCHORID_DATA_DIR": str(tmp_path), "ANCHORID_WORKER_LEASE_SECONDS": "2"}  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LEASE], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        held = JobLease.objects.get(name="probe")
        assert held.lease_owner == "worker-to-be-killed"
        assert held.lease_until is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)

        assert leases.run_if_due(job, "survivor") is None  # the dead worker's lease has not run out yet
        _run([Worker("idp", [job])], 4.0)
    finally:
        holder.kill()
        holder.wait()
    assert len(runs) == 1
    assert runs[0] > held.lease_until
    row = JobLease.objects.get(name="probe")
    assert (row.lease_owner, row.last_status) == ("", JobLease.Status.OK)
    assert row.next_run_at > runs[0] + datetime.timedelta(seconds=59)  # the next run one interval later


def test_it_records_a_failed_run_and_retries_it_with_backoff() -> None:
    def broken() -> None:
        raise RuntimeError("the upstream service is down")

    job = Job("probe", 60, broken)
    JobLease.objects.create(name="probe", next_run_at=timezone.now())
    outcome = leases.run_if_due(job, "worker")
    assert outcome == leases.Outcome(ok=False, error="RuntimeError: the upstream service is down")
    row = JobLease.objects.get(name="probe")
    assert (row.last_status, row.failures, row.lease_owner) == (JobLease.Status.FAILED, 1, "")
    delay = (row.next_run_at - row.last_finished_at).total_seconds()
    assert leases.RETRY_BASE_SECONDS * 0.8 <= delay <= leases.RETRY_BASE_SECONDS * 1.2
    assert leases.run_if_due(job, "worker") is None  # backing off: not due yet


def test_it_finds_a_fresh_heartbeat_and_not_a_stale_or_stopped_one(settings: Settings) -> None:
    settings.ANCHORID_WORKER_STALE_SECONDS = "30"
    now = timezone.now()
    heartbeat.beat("old", "idp", now, {})
    WorkerHeartbeat.objects.filter(instance="old").update(last_beat=now - datetime.timedelta(seconds=31))
    assert heartbeat.fresh("idp") is None
    heartbeat.beat("current", "idp", now, {"audit-checkpoints": {"status": "ok"}})
    found = heartbeat.fresh("idp")
    assert found is not None
    assert found.instance == "current"
    assert heartbeat.fresh("city") is None
    heartbeat.stopped("current", {})
    assert heartbeat.fresh("idp") is None
