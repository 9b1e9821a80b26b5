"""Periodic signed checkpoints while the idp serves (issue #3 §4: "periodic checkpoints signed by the platform key").

The idp's worker (``anchorid.idp.jobs``) runs ``checkpoint_job`` as its ``audit-checkpoints`` job, under the job's
lease. Every ``ANCHORID_AUDIT_CHECKPOINT_SECONDS`` (default 300; 0 turns it off) it signs a checkpoint when
entries were appended since the last one. ``make_checkpoint`` verifies the whole log first, so a broken log is reported
(logged at ERROR, naming the problem) instead of being signed. Two processes doing this at once are harmless:
the checkpoint for one tree size is unique and the second signer returns the first one's.
"""

from __future__ import annotations

import logging

from anchorid.common import config
from anchorid.idp import metrics
from anchorid.idp.audit.checkpoints import LogBroken, make_checkpoint
from anchorid.idp.audit.models import AuditEntry, Checkpoint

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 300


def interval_seconds() -> float:
    return float(config.AUDIT_CHECKPOINT_SECONDS.value())


def checkpoint_if_due() -> Checkpoint | None:
    """Sign a checkpoint when the log grew since the newest one; None when there is nothing new."""
    entries = AuditEntry.objects.count()
    newest = Checkpoint.objects.order_by("-tree_size").first()
    if entries == 0 or (newest is not None and newest.tree_size >= entries):
        return None
    return make_checkpoint()


def checkpoint_job() -> None:
    """The ``audit-checkpoints`` job of the idp's worker: sign when due; a broken log or any other failure fails the
    run (the worker retries it with backoff). Each attempt is counted in ``anchorid_idp_audit_checkpoints``."""
    try:
        checkpoint = checkpoint_if_due()
    except LogBroken as exc:
        metrics.AUDIT_CHECKPOINTS.labels("broken").inc()
        log.error("audit log broken, checkpoint refused: %s", exc)
        raise
    except Exception:
        metrics.AUDIT_CHECKPOINTS.labels("failed").inc()
        raise
    metrics.AUDIT_CHECKPOINTS.labels("nothing_new" if checkpoint is None else "signed").inc()
    if checkpoint is not None:
        log.info("audit checkpoint signed at tree size %d", checkpoint.tree_size)
