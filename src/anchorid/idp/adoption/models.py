"""One counter per (week, coarse age band, sex): no account, no birth date, nothing finer than the week."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class OnboardingCount(models.Model):
    week = models.DateField(help_text="Monday of the ISO week (Asia/Tokyo) the accounts were created in")
    age_band = models.CharField(max_length=8)
    sex = models.CharField(max_length=8)
    onboarded = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["week", "age_band", "sex"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["week", "age_band", "sex"], name="adoption_count_once_per_cell"),
        ]

    def __str__(self) -> str:
        return f"adoption {self.week} {self.age_band} {self.sex}"
