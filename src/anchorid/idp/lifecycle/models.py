"""What the lifecycle watcher keeps: notices to residents, their contact e-mail, refresh consents, jobs and runs.

- ``Notice``: an in-app message shown in /me/ (and e-mailed when the resident has a verified contact address).
  It holds a kind and a reason code, never an attribute value.
- ``ContactEmail``: the optional address a resident gives for these notices; used only once verified.
- ``RefreshConsent``: the resident's prior consent, signed with the card and lodged at jlis (its consent id there),
  that lets the idp fetch current attributes when the anchor certificate is revoked. Withdrawn consents stay on
  record; ``withdrawal_pending`` marks a withdrawal jlis has not acknowledged yet (retried by the runner).
- ``Job``: one row per scheduled job. The lease (``lease_owner``, ``lease_expires_at``) is taken by a single
  conditional UPDATE, so two runners -- threads or processes, SQLite or PostgreSQL -- never run one job at once; a
  crashed run's lease simply expires. ``next_run_at`` and ``failures`` survive restarts.
- ``SweepRun``: the history of sweeps, with their summary (counts by reason) or the error that failed them.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notice(models.Model):
    class Kind(models.TextChoices):
        ANCHOR_REVOKED = "anchor_revoked"
        ANCHOR_EXPIRED = "anchor_expired"
        CARD_HELD = "card_held"
        ATTRIBUTES_REFRESHED = "attributes_refreshed"
        REVERIFY = "reverify"
        ACCOUNT_DISABLED = "account_disabled"
        HOLD_RELEASED = "hold_released"

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reason = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["account", "read_at"])]
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"notice {self.kind} ({self.reason})"


class ContactEmail(models.Model):
    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_email")
    address = models.EmailField(max_length=254)
    verified_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"contact e-mail ({'verified' if self.verified_at else 'unverified'})"


class RefreshConsent(models.Model):
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="refresh_consents")
    jlis_consent_id = models.BigIntegerField()
    certificate_serial = models.CharField(max_length=64, help_text="the signature certificate that signed it")
    document_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    lodged_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_pending = models.BooleanField(default=False)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(withdrawn_at__isnull=True), name="refresh_one_standing_consent"
            ),
        ]

    def __str__(self) -> str:
        return f"refresh consent {self.jlis_consent_id}"

    @property
    def standing(self) -> bool:
        return self.withdrawn_at is None


class Job(models.Model):
    class Status(models.TextChoices):
        NEVER = "never"
        OK = "ok"
        FAILED = "failed"

    name = models.CharField(max_length=64, unique=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="consecutive failures (drives the backoff)")
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEVER)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"job {self.name}"


class SweepRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, default="schedule")
    crl_number = models.BigIntegerField(null=True, blank=True)
    crl_issuer_fingerprint = models.CharField(max_length=64, blank=True)
    crl_this_update = models.DateTimeField(null=True, blank=True)
    crl_next_update = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["status", "-finished_at"])]

    def __str__(self) -> str:
        return f"sweep {self.pk} ({self.status})"
