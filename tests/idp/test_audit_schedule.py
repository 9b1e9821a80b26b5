"""Periodic checkpoints while the idp serves: one per growth of the log, none for an unchanged log (the
``audit-checkpoints`` job of the idp's worker)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from anchorid.common.worker.registry import Job
from anchorid.common.worker.supervisor import Worker
from anchorid.idp.audit.models import AuditEntry, Checkpoint
from anchorid.idp.audit.schedule import checkpoint_if_due, checkpoint_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_signs_a_checkpoint_when_the_log_grew(
    platform_keys: Path, log_entries: Callable[[int], list[AuditEntry]]
) -> None:
    log_entries(3)
    checkpoint = checkpoint_if_due()
    assert checkpoint is not None
    assert checkpoint.tree_size == AuditEntry.objects.count()


def test_it_signs_nothing_when_the_log_did_not_grow(
    platform_keys: Path, log_entries: Callable[[int], list[AuditEntry]]
) -> None:
    log_entries(2)
    assert checkpoint_if_due() is not None
    assert checkpoint_if_due() is None
    assert Checkpoint.objects.count() == 1


def test_it_signs_nothing_for_an_empty_log(platform_keys: Path) -> None:
    assert checkpoint_if_due() is None
    assert not Checkpoint.objects.exists()


def test_it_keeps_signing_on_a_schedule_in_the_background(
    platform_keys: Path, log_entries: Callable[[int], list[AuditEntry]], settings: Settings
) -> None:
    settings.ANCHORID_WORKER_POLL_SECONDS = "0.05"
    log_entries(2)
    stop = threading.Event()
    job = Job("audit-checkpoints", 0.05, checkpoint_job)
    worker = threading.Thread(target=Worker("idp", [job]).run, args=(stop,), daemon=True)
    worker.start()
    try:
        for _ in range(200):
            if Checkpoint.objects.exists():
                break
            stop.wait(0.05)
        log_entries(1)
        for _ in range(200):
            if Checkpoint.objects.filter(tree_size=AuditEntry.objects.count()).exists():
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=5)
    sizes = sorted(Checkpoint.objects.values_list("tree_size", flat=True))
    assert sizes[-1] == AuditEntry.objects.count()
    assert len(sizes) >= 2
