"""The departments' own records: each keeps the address it uses, and its changes.

- ``ResidentRecord`` (市民課): the address on the resident record kept for the city's services.
- ``TaxRecord`` (税務課): where tax notices are sent.
- ``RecordChange``: every change to either, with its department, source and the idp's change id (``txn``).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class ResidentRecord(models.Model):
    sub = models.CharField(max_length=255, unique=True, help_text="the resident's pairwise sub at the city")
    address = models.JSONField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"resident record updated {self.updated_at:%Y-%m-%d}"


class TaxRecord(models.Model):
    sub = models.CharField(max_length=255, unique=True, help_text="the resident's pairwise sub at the city")
    notice_address = models.JSONField(help_text="where tax notices are sent")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"tax record updated {self.updated_at:%Y-%m-%d}"


class RecordChange(models.Model):
    class Department(models.TextChoices):
        RESIDENTS = "residents", "市民課"
        TAX = "tax", "税務課"

    class Source(models.TextChoices):
        LOGIN = "login", "login with AnchorID"
        EVENT = "event", "AnchorID event"

    department = models.CharField(max_length=16, choices=Department.choices)
    sub = models.CharField(max_length=255, db_index=True)
    address = models.JSONField()
    source = models.CharField(max_length=16, choices=Source.choices)
    txn = models.CharField(max_length=255, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.department} change ({self.source}) {self.changed_at:%Y-%m-%d}"
