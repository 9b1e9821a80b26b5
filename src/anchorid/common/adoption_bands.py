"""The coarse age bands and sexes of adoption statistics, shared by the idp (which counts) and the city (which
compares the counts with its population table). Party-neutral: no models, no Django.

The bands are unions of the five-year bands of the national card-issuance table (shared/data), so that a count can
be set beside the population of the same people: under 15 (the children who have no signature certificate), 15–19
(the band the deck finds below average), then ten-year bands and 80 and over.
"""

from __future__ import annotations

import datetime

#: (label, first age, last age or None for "and over"), in order.
BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-14", 0, 14),
    ("15-19", 15, 19),
    ("20-29", 20, 29),
    ("30-39", 30, 39),
    ("40-49", 40, 49),
    ("50-59", 50, 59),
    ("60-69", 60, 69),
    ("70-79", 70, 79),
    ("80+", 80, None),
)
BAND_LABELS: tuple[str, ...] = tuple(label for label, _, _ in BANDS)
#: The certificate's gender codes (jpki-reference.md: 1 male, 2 female, 3 not known) → the statistics' names.
SEXES: dict[str, str] = {"1": "male", "2": "female", "3": "unknown"}
#: The smallest count a published cell may show (k-anonymity); smaller cells are suppressed.
K_ANONYMITY = 10


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def band_of_age(age: int) -> str:
    for label, first, last in BANDS:
        if age >= first and (last is None or age <= last):
            return label
    raise ValueError(f"no band for age {age}")


def band_of_table_row(table_band: str) -> str | None:
    """The coarse band a five-year row of the national table ('0-4', '90+') falls in; None for 'all'."""
    if table_band == "all":
        return None
    first = int(table_band.rstrip("+").split("-")[0])
    return band_of_age(first)


def week_of(day: datetime.date) -> datetime.date:
    """The Monday that starts the ISO week of ``day``."""
    return day - datetime.timedelta(days=day.weekday())


def suppress(count: int, k: int = K_ANONYMITY) -> int | None:
    """The count, or None when it is below k (a suppressed cell)."""
    return count if count >= k else None
