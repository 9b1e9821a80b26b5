"""Tables every party keeps: the rate-limit counters (``anchorid.common.ratelimit``) and the generation stamps of
per-process caches (``anchorid.common.generations``)."""

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
