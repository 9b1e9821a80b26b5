"""The city's card-issuance table (the national table's shape, for the city's residents) and the last adoption
counts read from the idp (already k-anonymous: a suppressed cell is kept as null)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class CityIssuance(models.Model):
    """One five-year band of the city's card-issuance table (``anchorid city adoption load-table``)."""

    age_band = models.CharField(max_length=8, unique=True)
    population_male = models.PositiveIntegerField()
    population_female = models.PositiveIntegerField()
    issued_male = models.PositiveIntegerField()
    issued_female = models.PositiveIntegerField()
    as_of = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return f"city issuance {self.age_band}"


class AdoptionCell(models.Model):
    """Cumulative onboarded residents at the end of ``week`` in one coarse band and sex; null: under k."""

    week = models.DateField()
    age_band = models.CharField(max_length=8)
    sex = models.CharField(max_length=8)
    cumulative = models.PositiveIntegerField(null=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["week", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["week", "age_band", "sex"], name="city_adoption_cell_once"),
        ]

    def __str__(self) -> str:
        return f"adoption {self.week} {self.age_band} {self.sex}"
