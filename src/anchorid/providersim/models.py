"""Each provider's customers: the address it was given at sign-up, and every change since.

Records are per provider (``provider``, the slug) and keyed by that provider's pairwise ``sub``: the same resident
is a different, unlinkable row at each provider.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    provider = models.CharField(max_length=32)
    sub = models.CharField(max_length=255, help_text="the resident's pairwise sub at this provider")
    name = models.CharField(max_length=200)
    address = models.JSONField(help_text="the OIDC address claim as received")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["provider", "sub"], name="providersim_one_customer_per_sub")
        ]

    def __str__(self) -> str:
        return f"{self.provider} customer since {self.created_at:%Y-%m-%d}"

    @property
    def formatted_address(self) -> str:
        return str((self.address or {}).get("formatted", ""))


class AddressChange(models.Model):
    class Source(models.TextChoices):
        SIGNUP = "signup", "sign-up"
        LOGIN = "login", "login"
        EVENT = "event", "AnchorID event"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="changes")
    address = models.JSONField()
    source = models.CharField(max_length=16, choices=Source.choices)
    txn = models.CharField(max_length=255, blank=True, help_text="the idp's change id (SET txn)")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer.provider} address change ({self.source}) {self.changed_at:%Y-%m-%d}"


class Walker(models.Model):
    """A member of the health points app (docs/health-points.md): its pairwise ``sub`` and nothing personal; the
    refresh token it needs to credit points while the resident is away, sealed (``anchorid.providersim.sealed``)."""

    sub = models.CharField(max_length=255, unique=True, help_text="the resident's pairwise sub at the health app")
    sealed_refresh_token = models.TextField(blank=True)
    joined_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"walker since {self.joined_at:%Y-%m-%d}"


class WalkingDay(models.Model):
    """Steps walked on a day (synthetic: typed by the resident) and the points they earned."""

    walker = models.ForeignKey(Walker, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    steps = models.PositiveIntegerField()
    points = models.PositiveIntegerField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-day"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["walker", "day"], name="providersim_one_walk_a_day")
        ]

    def __str__(self) -> str:
        return f"walk {self.day}"


class Award(models.Model):
    """Points awarded to the resident's local-currency wallet. ``id`` is the transfer id the app chose and stored
    (``pending``) before it called the currency; a retry sends the same id. ``sent_at``: when a credit request
    first left for the currency (after that, only the currency's answer settles the award)."""

    PENDING, DONE, REFUSED, HELD = "pending", "done", "refused", "held"

    id = models.CharField(max_length=40, primary_key=True)
    walker = models.ForeignKey(Walker, on_delete=models.PROTECT, related_name="awards")
    points = models.PositiveIntegerField()
    state = models.CharField(max_length=8, default=PENDING)
    #: The currency's answer (``created``/``exists``) or the refusal's error code; never a token or a sub.
    outcome = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["state", "created_at"], name="providersim_award_due")
        ]

    def __str__(self) -> str:
        return f"award {self.created_at:%Y-%m-%d}"
