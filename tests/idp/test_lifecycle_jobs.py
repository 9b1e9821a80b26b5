"""The database-backed job runner: one lease holder at a time (threads with their own connections, and two
processes), a crashed run's lease expires, failures back off and survive in the row, jlis down fails the sweep
cleanly and marks no one, and ``anchorid idp sweep`` by hand."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.lifecycle import jobs
from anchorid.idp.lifecycle.models import Job, Notice, SweepRun

from .lifecycle_support import ADULT_JLIS_DOWN, Helper, Jlis, closed_port_url, onboarded
from .onboarding_support import KEYSTORE_PASSPHRASE

RUNNERS = 8


@pytest.mark.django_db(transaction=True)
def test_it_gives_the_lease_to_exactly_one_of_many_concurrent_runners() -> None:
    jobs.ensure_job(jobs.SWEEP)
    barrier = threading.Barrier(RUNNERS)
    won: list[str] = []

    def runner(index: int) -> None:
        try:
            barrier.wait()
            if jobs.acquire(jobs.SWEEP, f"runner-{index}"):
                won.append(f"runner-{index}")
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(RUNNERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert Job.objects.get(name=jobs.SWEEP).lease_owner == won[0]


@pytest.mark.django_db(transaction=True)
def test_it_never_runs_two_sweeps_at_once() -> None:
    running = threading.Semaphore(1)
    overlaps: list[bool] = []
    ran: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(2)

    def work(index: int) -> Callable[[], int]:
        def do() -> int:
            overlaps.append(not running.acquire(blocking=False))
            time.sleep(1.0)
            running.release()
            ran.append(index)
            return index

        return do

    def runner(index: int) -> None:
        try:
            barrier.wait()
            try:
                jobs.run_job(jobs.SWEEP, work(index), force=True)
            except jobs.LeaseHeld:
                refused.append(index)
        finally:
            connection.close()

    jobs.ensure_job(jobs.SWEEP)
    threads = [threading.Thread(target=runner, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [False]
    assert len(ran) == 1
    assert len(refused) == 1
    job = Job.objects.get(name=jobs.SWEEP)
    assert job.lease_owner == ""
    assert job.last_status == Job.Status.OK


@pytest.mark.django_db
def test_it_takes_over_the_lease_of_a_runner_that_crashed() -> None:
    start = timezone.now()
    assert jobs.acquire(jobs.SWEEP, "crashed", now=start)
    assert not jobs.acquire(jobs.SWEEP, "next", now=start + datetime.timedelta(seconds=1))
    lease = datetime.timedelta(seconds=600)
    assert jobs.acquire(jobs.SWEEP, "next", now=start + lease + datetime.timedelta(seconds=1))
    assert Job.objects.get(name=jobs.SWEEP).lease_owner == "next"
    jobs.release(jobs.SWEEP, "crashed", ok=True)  # the crashed runner's late release changes nothing
    assert Job.objects.get(name=jobs.SWEEP).lease_owner == "next"


@pytest.mark.django_db
def test_it_fails_the_sweep_cleanly_while_jlis_is_unreachable_and_retries_with_backoff(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Settings
) -> None:
    settings.ANCHORID_SWEEP_RETRY_BASE = 60
    settings.ANCHORID_SWEEP_INTERVAL = 3600
    account, _client, _helper, card = onboarded(jlis, card_helper, ADULT_JLIS_DOWN)
    jlis.cli("move", "--resident", str(card["resident_id"]), "--address", "神奈川県鎌倉市大町一丁目2番3号")
    settings.ANCHORID_JLIS_URL = closed_port_url()  # nothing listens there: jlis really unreachable

    delays = []
    for failures in (1, 2):
        before = timezone.now()
        result = jobs.run_job(jobs.SWEEP, jobs.sweep_work("schedule"), force=True)
        assert result is not None
        assert not result.ok
        assert "jlis unavailable" in result.error
        job = Job.objects.get(name=jobs.SWEEP)
        assert (job.failures, job.last_status, job.lease_owner) == (failures, Job.Status.FAILED, "")
        delays.append((job.next_run_at - before).total_seconds())
    assert 60 * 0.8 - 1 <= delays[0] <= 60 * 1.2 + 1
    assert 120 * 0.8 - 1 <= delays[1] <= 120 * 1.2 + 1
    assert jobs.run_job(jobs.SWEEP, jobs.sweep_work("schedule")) is None  # not due yet: backing off
    assert list(SweepRun.objects.values_list("status", flat=True)) == ["failed", "failed"]
    anchor = AnchorCertificate.objects.get(account=account)
    assert anchor.status == "good"  # no one wrongly marked
    account.refresh_from_db()
    assert not account.attributes_stale
    assert not Notice.objects.exists()

    settings.ANCHORID_JLIS_URL = jlis.url  # jlis is back: the retry succeeds and marks the move
    result = jobs.run_job(jobs.SWEEP, jobs.sweep_work("schedule"), force=True)
    assert result is not None
    assert result.ok
    assert result.value.newly_revoked == {"affiliationChanged": 1}
    job = Job.objects.get(name=jobs.SWEEP)
    assert (job.failures, job.last_status) == (0, Job.Status.OK)
    assert Account.objects.get(pk=account.pk).attributes_stale_reason == "affiliationChanged"


HOLD_LEASE = """
import sys, time
from pathlib import Path
from anchorid.common.serve import prepare_party
prepare_party("idp", Path(sys.argv[1]))
from anchorid.idp.lifecycle import jobs
assert jobs.acquire(jobs.SWEEP, "other-process")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
jobs.release(jobs.SWEEP, "other-process", ok=True)
"""


def test_it_runs_a_sweep_by_hand_and_refuses_while_another_process_holds_the_lease(
    lifecycle_jlis: Jlis, tmp_path: Path
) -> None:
    pem = lifecycle_jlis.data / "pem"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        ANCHORID_JLIS_URL=lifecycle_jlis.url,
        ANCHORID_JPKI_TRUST_ANCHORS=f"{pem / 'sign-ca.pem'},{pem / 'auth-ca.pem'}",
        ANCHORID_KEYSTORE_DIR=str(lifecycle_jlis.keys),
        ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE,
    )
    data = tmp_path / "idp"
    cli = [sys.executable, "-m", "anchorid.cli", "idp", "sweep", "--data", str(data)]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["newly_revoked"] == {}
    assert summary["checked"] == 0
    assert summary["crl_entries"] >= 0
    assert summary["errors"] == {}

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LEASE, str(data), "600"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        busy = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert busy.returncode == 2
        assert "running in another process" in busy.stderr
    finally:
        holder.kill()
        holder.wait()

    unreachable = subprocess.run(
        [sys.executable, "-m", "anchorid.cli", "idp", "sweep", "--data", str(tmp_path / "other")],
        env={**env, "ANCHORID_JLIS_URL": closed_port_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unreachable.returncode == 1
    assert "sweep failed, nothing was marked" in unreachable.stderr
