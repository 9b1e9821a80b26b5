"""Periodic signed checkpoints while the idp serves (issue #3 §4: "periodic checkpoints signed by the platform key").

``anchorid serve idp`` starts ``run_periodically`` in a daemon thread of the serving process. Every
``ANCHORID_AUDIT_CHECKPOINT_SECONDS`` (default 300; 0 turns it off) it signs a checkpoint when entries were
appended since the last one. ``make_checkpoint`` verifies the whole log first, so a broken log is reported
(logged at ERROR, naming the problem) instead of being signed. Two processes doing this at once are harmless:
the checkpoint for one tree size is unique and the second signer returns the first one's.
"""

from __future__ import annotations

import logging
import os
import threading

from django.db import close_old_connections

from anchorid.common import request_id
from anchorid.idp import metrics
from anchorid.idp.audit.checkpoints import LogBroken, make_checkpoint
from anchorid.idp.audit.models import AuditEntry, Checkpoint

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 300


def interval_seconds() -> float:
    return float(os.environ.get("ANCHORID_AUDIT_CHECKPOINT_SECONDS", DEFAULT_INTERVAL_SECONDS))


def checkpoint_if_due() -> Checkpoint | None:
    """Sign a checkpoint when the log grew since the newest one; None when there is nothing new."""
    entries = AuditEntry.objects.count()
    newest = Checkpoint.objects.order_by("-tree_size").first()
    if entries == 0 or (newest is not None and newest.tree_size >= entries):
        return None
    return make_checkpoint()


def run_periodically(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        close_old_connections()
        with request_id.bound():
            run_once()


def run_once() -> None:
    """One periodic attempt; never raises (it logs, and counts the result in ``anchorid_idp_audit_checkpoints``)."""
    try:
        checkpoint = checkpoint_if_due()
        if checkpoint is not None:
            log.info("audit checkpoint signed at tree size %d", checkpoint.tree_size)
        metrics.AUDIT_CHECKPOINTS.labels("nothing_new" if checkpoint is None else "signed").inc()
    except LogBroken as exc:
        metrics.AUDIT_CHECKPOINTS.labels("broken").inc()
        log.error("audit log broken, checkpoint refused: %s", exc)
    except Exception:
        metrics.AUDIT_CHECKPOINTS.labels("failed").inc()
        log.exception("audit checkpoint failed; retrying at the next interval")


def start_in_background() -> threading.Event | None:
    """Start the checkpoint thread; returns the event that stops it (None when turned off)."""
    interval = interval_seconds()
    if interval <= 0:
        return None
    stop = threading.Event()
    threading.Thread(target=run_periodically, args=(stop, interval), name="audit-checkpoints", daemon=True).start()
    return stop
