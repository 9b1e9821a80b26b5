"""Raising a counter at onboarding, and the suppressed cumulative counts the city reads."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import F
from django.utils import timezone

from anchorid.common import adoption_bands
from anchorid.idp.adoption.models import OnboardingCount


def record_onboarding(birth_date: datetime.date, gender: str, when: datetime.datetime | None = None) -> None:
    """Count one new account; the birth date is used here and not kept (only the coarse band is)."""
    day = timezone.localtime(when or timezone.now()).date()
    band = adoption_bands.band_of_age(max(adoption_bands.age_on(birth_date, day), 0))
    sex = adoption_bands.SEXES.get(gender, "unknown")
    row, _ = OnboardingCount.objects.get_or_create(week=adoption_bands.week_of(day), age_band=band, sex=sex)
    OnboardingCount.objects.filter(pk=row.pk).update(onboarded=F("onboarded") + 1)


def published_counts(k: int = adoption_bands.K_ANONYMITY) -> dict[str, Any]:
    """Cumulative onboarded residents per cell at the end of each week, cells under k suppressed (null).

    Only cumulative cells are published, never weekly increments or totals across cells, so no suppressed cell can
    be recovered by subtracting published ones within a week (D??).
    """
    weeks = sorted(set(OnboardingCount.objects.values_list("week", flat=True)))
    running: dict[tuple[str, str], int] = {}
    rows = list(OnboardingCount.objects.values_list("week", "age_band", "sex", "onboarded"))
    published = []
    for week in weeks:
        for row_week, band, sex, count in rows:
            if row_week == week:
                running[(band, sex)] = running.get((band, sex), 0) + count
        cells = [
            {"age_band": band, "sex": sex, "cumulative": adoption_bands.suppress(running.get((band, sex), 0), k)}
            for band in adoption_bands.BAND_LABELS
            for sex in ("male", "female")
        ]
        published.append({"week": week.isoformat(), "cells": cells})
    return {"k": k, "age_bands": list(adoption_bands.BAND_LABELS), "weeks": published}
