"""The idp's own Prometheus metrics (docs/observability.md): logins and onboardings by outcome and reason, its OCSP
checks at jlis, Shared Signals delivery, job runs, sweep duration, audit checkpoints — and, read from the database
at scrape time (:class:`DatabaseCollector`, named in ``ANCHORID_METRICS_COLLECTORS``), the outbox depth and the jobs'
state.

Reasons are the stable refusal codes the endpoints already answer (``anchorid.common.metrics.code_label``), never a
message, a name or an id.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from anchorid.common.metrics import code_label

SUCCESS = "success"
REFUSED = "refused"
NO_REASON = "none"

LOGINS = Counter(
    "anchorid_idp_logins",
    "Logins and other uses of a credential at the login pages, by method (card, card_stop, card_resume, passkey, "
    "wallet), outcome (success, refused) and reason (the refusal code; none on success).",
    ["method", "outcome", "reason"],
)
ONBOARDINGS = Counter(
    "anchorid_idp_onboardings",
    "Card onboardings answered, by method (card, card_cross_device), outcome (created, recovered, "
    "already_registered, refused) and reason (the refusal code; none otherwise).",
    ["method", "outcome", "reason"],
)
OCSP_CHECKS = Counter(
    "anchorid_idp_ocsp_checks",
    "The idp's OCSP checks of JPKI certificates at jlis, by check (card_signature: onboarding and card use; anchor: "
    "an account's anchor, at login or by hand) and status (good, revoked, unknown, unavailable).",
    ["check", "status"],
)
SSF_DELIVERIES = Counter(
    "anchorid_idp_ssf_deliveries",
    "Security Event Token push attempts, by outcome (delivered; refused for good: permanent; retry).",
    ["outcome"],
)
SSF_DELIVERY_LAG = Histogram(
    "anchorid_idp_ssf_delivery_lag_seconds",
    "From a SET's entry in the outbox to the receiver's 202.",
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 24 * 3600.0),
)
JOB_RUNS = Counter(
    "anchorid_idp_job_runs",
    "Runs of the database-backed jobs (sweep, signing-archive, ...), by job and result (ok, failed).",
    ["job", "result"],
)
JOB_DURATION = Histogram(
    "anchorid_idp_job_duration_seconds",
    "Duration of a job run, by job.",
    ["job"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
SWEEP_DURATION = Histogram(
    "anchorid_idp_lifecycle_sweep_duration_seconds",
    "Duration of a lifecycle sweep (one CRL against every anchor), by result (ok, failed).",
    ["result"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
AUDIT_CHECKPOINTS = Counter(
    "anchorid_idp_audit_checkpoints",
    "Periodic audit checkpoint attempts, by result (signed, nothing_new, broken: the log failed verification, "
    "failed: another error).",
    ["result"],
)


def login(method: str, reason: str | None = None) -> None:
    """One login (or card stop/resume) answered: a success when ``reason`` is None, else refused for ``reason``."""
    if reason is None:
        LOGINS.labels(method, SUCCESS, NO_REASON).inc()
    else:
        LOGINS.labels(method, REFUSED, code_label(reason)).inc()


def onboarding(method: str, outcome: str | None, reason: str | None = None) -> None:
    """One onboarding answered: ``outcome`` (created, recovered, already_registered) or refused for ``reason``."""
    if outcome is None:
        ONBOARDINGS.labels(method, REFUSED, code_label(reason)).inc()
    else:
        ONBOARDINGS.labels(method, code_label(outcome), NO_REASON).inc()


def ocsp_check(check: str, status: str) -> None:
    OCSP_CHECKS.labels(check, status).inc()


def ssf_delivery(outcome: str, created_at: datetime | None = None) -> None:
    SSF_DELIVERIES.labels(outcome).inc()
    if outcome == "delivered" and created_at is not None:
        SSF_DELIVERY_LAG.observe(max(0.0, (timezone.now() - created_at).total_seconds()))


def job_run(job: str, ok: bool, started: float) -> None:
    JOB_RUNS.labels(code_label(job.replace("-", "_")), "ok" if ok else "failed").inc()
    JOB_DURATION.labels(code_label(job.replace("-", "_"))).observe(time.monotonic() - started)


class DatabaseCollector:
    """Gauges read from the idp's database at scrape time: the outbox's depth and age, the jobs' state."""

    def collect(self) -> Iterator[Metric]:
        from anchorid.idp.lifecycle.models import Job
        from anchorid.idp.ssf.models import OutboxEvent

        now = timezone.now()
        depth = GaugeMetricFamily(
            "anchorid_idp_ssf_outbox_events",
            "Security Event Tokens in the outbox waiting (pending) or given up (dead).",
            labels=["state"],
        )
        counts = dict(
            OutboxEvent.objects.filter(state__in=[OutboxEvent.State.PENDING, OutboxEvent.State.DEAD])
            .values_list("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
        for state in (OutboxEvent.State.PENDING, OutboxEvent.State.DEAD):
            depth.add_metric([str(state)], counts.get(state, 0))
        yield depth

        oldest = OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).aggregate(oldest=Min("created_at"))
        age = GaugeMetricFamily(
            "anchorid_idp_ssf_outbox_oldest_pending_seconds",
            "Age of the oldest SET still waiting for delivery (0 when none waits): the delivery lag now.",
        )
        age.add_metric([], max(0.0, (now - oldest["oldest"]).total_seconds()) if oldest["oldest"] else 0.0)
        yield age

        failures = GaugeMetricFamily(
            "anchorid_idp_job_consecutive_failures", "Failed runs of a job since its last success.", labels=["job"]
        )
        finished = GaugeMetricFamily(
            "anchorid_idp_job_last_finished_timestamp_seconds",
            "When a job's last run ended (Unix time), by job and that run's status (ok, failed).",
            labels=["job", "status"],
        )
        for job in Job.objects.only("name", "failures", "last_finished_at", "last_status"):
            name = code_label(job.name.replace("-", "_"))
            failures.add_metric([name], job.failures)
            if job.last_finished_at is not None:
                finished.add_metric([name, code_label(job.last_status)], job.last_finished_at.timestamp())
        yield failures
        yield finished
