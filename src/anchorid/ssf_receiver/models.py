"""What a receiver remembers about the Security Event Tokens it took: one row per (receiver, issuer, jti).

The unique constraint is what makes the effect exactly-once: the row is written in the same transaction as the
event's effect, so either both happen or neither does, and a second delivery of the same SET finds the row. The
SHA-256 of the compact SET tells a retransmission (same bytes: accepted, not applied again) from a different SET
that reuses a jti (refused). No personal data: the pairwise ``sub`` and what was done, never the event's claims.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class ReceivedSet(models.Model):
    class Via(models.TextChoices):
        PUSH = "push", "push (RFC 8935)"
        POLL = "poll", "poll (RFC 8936)"

    receiver = models.CharField(max_length=64, help_text="which receiver in this server took it")
    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=255)
    digest = models.CharField(max_length=64, help_text="SHA-256 (hex) of the compact SET")
    event_type = models.CharField(max_length=255)
    txn = models.CharField(max_length=255, blank=True)
    sub = models.CharField(max_length=255, blank=True, help_text="the subject's pairwise sub at this receiver")
    outcome = models.CharField(max_length=255, blank=True, help_text="what the handler did")
    via = models.CharField(max_length=8, choices=Via.choices)
    issued_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["receiver", "issuer", "jti"], name="ssf_receiver_jti_once")
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["receiver", "sub"], name="ssf_receiver_sub")]

    def __str__(self) -> str:
        return f"{self.receiver}: SET {self.jti[:8]}… {self.event_type.rsplit('/', 1)[-1]}"
