"""The idp's background jobs (``anchorid.common.worker``): what ``anchorid worker idp`` and the worker child of
``anchorid serve idp`` run.

- ``audit-checkpoints`` (leased): a signed checkpoint when the audit log grew (``ANCHORID_AUDIT_CHECKPOINT_SECONDS``);
- ``ssf-delivery``: Shared Signals push delivery and Back-Channel Logout retries, in ``ANCHORID_SSF_WORKER_THREADS``
  threads on every worker (each stream is leased on its own: ``ssf.delivery``; ``ANCHORID_SSF_WORKER=0`` off);
- ``lifecycle-sweep``: the CRL sweep of the certificate watcher, under its own lease and schedule
  (``lifecycle.jobs``; ``ANCHORID_SWEEP_INTERVAL``, 0 off);
- ``link-use-audit`` (leased): the audit log's ``link_used`` entries, appended in batches from the token exchanges'
  records (``links.usage``);
- ``signing-archive``: renewal of the signed PDF archive (``signing.archive``; only with
  ``ANCHORID_SIGNING_ARCHIVE_DIR``).
"""

from __future__ import annotations

import threading

from anchorid.common.worker.heartbeat import instance_id
from anchorid.common.worker.registry import Job


def _ssf_delivery() -> Job:
    from anchorid.idp.ssf import conf, delivery

    passes = threading.local()  # each delivery thread keeps its own owner name and kept-alive connections

    def work() -> bool:
        current = getattr(passes, "current", None)
        if current is None:
            current = passes.current = delivery.DeliveryPass()
        return bool(current())

    interval = delivery.IDLE_WAIT if conf.worker_enabled() else 0
    return Job("ssf-delivery", interval, work, leased=False, threads=delivery.worker_threads())


def _lifecycle_sweep() -> Job:
    from anchorid.idp.lifecycle import conf
    from anchorid.idp.lifecycle.jobs import POLL_SECONDS, scheduled_sweep

    interval = conf.sweep_interval()
    return Job("lifecycle-sweep", min(POLL_SECONDS, interval), scheduled_sweep(instance_id()), leased=False)


def _signing_archive() -> Job:
    from anchorid.idp.signing import archive

    interval = archive.renewal_interval() if archive.archive_dir() is not None else 0
    poll = min(archive.POLL_SECONDS, interval)
    return Job("signing-archive", poll, archive.scheduled_renewal(instance_id()), leased=False)


def _link_use_audit() -> Job:
    from anchorid.idp.links import usage

    return Job("link-use-audit", usage.INTERVAL, usage.job_work)


def jobs() -> list[Job]:
    from anchorid.idp.audit import schedule

    return [
        Job("audit-checkpoints", schedule.interval_seconds(), schedule.checkpoint_job),
        _ssf_delivery(),
        _lifecycle_sweep(),
        _signing_archive(),
        _link_use_audit(),
    ]
