"""Tables every party keeps: the rate-limit counters (``anchorid.common.ratelimit``), the generation stamps of
per-process caches (``anchorid.common.generations``), the background jobs' leases and the workers' heartbeats
(``anchorid.common.worker``)."""

from __future__ import annotations

from django.db import models


class RateLimitCounter(models.Model):
    """Attempts counted for one key of one limit in one fixed window, shared by every worker of the party.

    ``counter_key`` is ``limit name:window number:sha-256 of the key`` (an address or a username is never stored
    as is); ``expires_at`` (Unix seconds) is the end of the window, after which the row is pruned.
    """

    counter_key = models.CharField(max_length=200, primary_key=True)
    hits = models.PositiveIntegerField()
    expires_at = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"{self.counter_key}: {self.hits}"


class CacheGeneration(models.Model):
    """How many times something that processes cache (the idp's signing keys, its clients) has changed.

    A process that changes it adds one in the same transaction; every process compares the number its copy was
    made at with this row now and then (``anchorid.common.generations``), and drops its copy when they differ.
    """

    name = models.CharField(max_length=64, primary_key=True)
    generation = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.generation}"


class JobLease(models.Model):
    """One background job of the party (``anchorid.common.worker``): who runs it now, when it runs next, how its
    last run ended. A worker takes the lease with one conditional UPDATE, so two workers on one database (two
    machines) never run the job at once; a killed worker's lease expires (``lease_until``) and another takes over.
    """

    class Status(models.TextChoices):
        NEVER = "never"
        OK = "ok"
        FAILED = "failed"

    name = models.CharField(max_length=64, primary_key=True)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0, help_text="consecutive failures (drives the backoff)")
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEVER)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"job {self.name}"


class WorkerHeartbeat(models.Model):
    """One running worker (``anchorid worker PARTY`` or the child of ``anchorid serve PARTY``): it writes
    ``last_beat`` every few seconds, with its jobs' last results; ``/readyz`` wants a fresh one."""

    instance = models.CharField(max_length=128, primary_key=True, help_text="host:pid:random")
    party = models.CharField(max_length=16)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_beat = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    jobs = models.JSONField(default=dict, help_text="job name: its last result in this worker")

    def __str__(self) -> str:
        return f"worker {self.instance}"
