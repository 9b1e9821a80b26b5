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
