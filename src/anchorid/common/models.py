"""Tables every party keeps: the rate-limit counters (``anchorid.common.ratelimit``)."""

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
