"""The one-time onboarding challenge, stored server-side.

A challenge is 256 random bits, used once, for five minutes, by the browser session that opened it (the row keeps
only a hash of a random binding secret kept in that session). The cross-device variant adds a short one-time
code (stored hashed) with which a card helper on another machine fetches and completes the same challenge; the
result waits on the row until the page that shows the code collects it.

A refused attempt stores nothing about the resident: the row only records that it was used and, for the page
polling a cross-device attempt, the refusal's stable code.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from anchorid.idp.accounts.models import Account


class OnboardingChallenge(models.Model):
    class Outcome(models.TextChoices):
        CREATED = "created"
        RECOVERED = "recovered"
        ALREADY_REGISTERED = "already_registered"
        REFUSED = "refused"

    nonce = models.CharField(max_length=64, unique=True, help_text="base64url of 32 random bytes")
    session_binding = models.CharField(max_length=64, help_text="SHA-256 of the browser session's binding secret")
    code_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    origin = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_via = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    refusal_code = models.CharField(max_length=64, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"onboarding challenge {self.pk}"
