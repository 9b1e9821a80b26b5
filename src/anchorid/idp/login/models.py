"""One-time challenges for card login, emergency stop and resumption with the card.

Same shape and rules as onboarding's (``anchorid.idp.onboarding.models.OnboardingChallenge``: 256 bits, five
minutes, single use, bound to the browser session by a hash of a secret kept in it), but each names its own
purpose in the signed text, so a card signature made to log in cannot register, stop or resume, and the card
helper can show the resident what the signature is for.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class CardChallenge(models.Model):
    class Purpose(models.TextChoices):
        LOGIN = "login"
        STOP = "stop"
        RESUME = "resume"

    nonce = models.CharField(max_length=64, unique=True, help_text="base64url of 32 random bytes")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    session_binding = models.CharField(max_length=64, help_text="SHA-256 of the browser session's binding secret")
    origin = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"card {self.purpose} challenge"
