"""The card-issuance tables (national, from the deck's source in shared/data, shipped here; the city's, loaded by
staff) and the observations the deck makes, computed from them rather than typed in."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NATIONAL_CSV = Path(__file__).parent / "data" / "national_2022-08.csv"
NATIONAL_AS_OF = "2022-08-31"
#: Columns a table must have (the national file's shape; rates and shares are recomputed, never trusted).
REQUIRED = ("age_band", "population_male", "population_female", "issued_male", "issued_female")
MAX_TABLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Band:
    """One five-year row: populations and cards issued by sex; rates recomputed from the counts."""

    age_band: str
    population_male: int
    population_female: int
    issued_male: int
    issued_female: int

    @property
    def population(self) -> int:
        return self.population_male + self.population_female

    @property
    def issued(self) -> int:
        return self.issued_male + self.issued_female

    @property
    def rate(self) -> float:
        return 100 * self.issued / self.population if self.population else 0.0

    @property
    def rate_male(self) -> float:
        return 100 * self.issued_male / self.population_male if self.population_male else 0.0

    @property
    def rate_female(self) -> float:
        return 100 * self.issued_female / self.population_female if self.population_female else 0.0

    @property
    def gap(self) -> float:
        """Female minus male issuance rate, in percentage points."""
        return self.rate_female - self.rate_male


class TableError(ValueError):
    """The uploaded table does not have the national table's shape."""


def parse_table(text: str) -> list[Band]:
    """Rows of a CSV in the national file's shape, the 'all' row left out; :class:`TableError` on anything else."""
    if len(text.encode()) > MAX_TABLE_BYTES:
        raise TableError("the table is too large")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise TableError(f"missing columns: {', '.join(missing)}")
    bands: list[Band] = []
    for row in reader:
        if row["age_band"] == "all":
            continue
        try:
            numbers = [int(row[name]) for name in REQUIRED[1:]]
        except (TypeError, ValueError):
            raise TableError(f"row {row['age_band']!r}: counts must be whole numbers") from None
        if any(n < 0 for n in numbers) or numbers[2] > numbers[0] or numbers[3] > numbers[1]:
            raise TableError(f"row {row['age_band']!r}: counts must be non-negative, issued at most population")
        bands.append(Band(row["age_band"], *numbers))
    if not bands:
        raise TableError("the table has no age bands")
    return bands


def national() -> list[Band]:
    return parse_table(NATIONAL_CSV.read_text(encoding="utf-8"))


def published_rates(path: Path = NATIONAL_CSV) -> dict[str, tuple[float, float, float]]:
    """The rates as the ministry published them (male, female, total), to check ours against."""
    with path.open(encoding="utf-8") as handle:
        return {
            row["age_band"]: (float(row["rate_male_pct"]), float(row["rate_female_pct"]), float(row["rate_total_pct"]))
            for row in csv.DictReader(handle)
        }


def _first_age(band: str) -> int:
    return int(band.rstrip("+").split("-")[0])


@dataclass(frozen=True)
class Observations:
    average_rate: float
    youth_band: Band  # 15-19
    youth_below_average: bool
    gaps_20_39: list[Band]  # the 20-39 bands, the largest female-male gap first
    largest_gap: Band
    lowest: Band
    highest: Band
    below_average: list[Band]

    def as_rows(self) -> list[tuple[str, str]]:
        return [
            ("average_rate_pct", f"{self.average_rate:.1f}"),
            ("rate_15_19_pct", f"{self.youth_band.rate:.1f}"),
            ("15_19_below_average", "yes" if self.youth_below_average else "no"),
            ("largest_gap_20_39_band", self.largest_gap.age_band),
            ("largest_gap_20_39_points", f"{self.largest_gap.gap:.1f}"),
            ("lowest_band", self.lowest.age_band),
            ("lowest_rate_pct", f"{self.lowest.rate:.1f}"),
            ("highest_band", self.highest.age_band),
            ("highest_rate_pct", f"{self.highest.rate:.1f}"),
        ]


def observations(bands: Iterable[Band]) -> Observations:
    rows = list(bands)
    population = sum(b.population for b in rows)
    average = 100 * sum(b.issued for b in rows) / population if population else 0.0
    youth = next((b for b in rows if b.age_band == "15-19"), rows[0])
    working = [b for b in rows if 20 <= _first_age(b.age_band) < 40]
    gaps = sorted(working or rows, key=lambda b: abs(b.gap), reverse=True)
    return Observations(
        average_rate=average,
        youth_band=youth,
        youth_below_average=youth.rate < average,
        gaps_20_39=gaps,
        largest_gap=gaps[0],
        lowest=min(rows, key=lambda b: b.rate),
        highest=max(rows, key=lambda b: b.rate),
        below_average=[b for b in rows if b.rate < average],
    )


def table_rows(bands: Iterable[Band]) -> list[list[Any]]:
    return [
        [b.age_band, b.population_male, b.population_female, b.issued_male, b.issued_female,
         round(b.rate_male, 1), round(b.rate_female, 1), round(b.rate, 1), round(b.gap, 1)]
        for b in bands
    ]  # fmt: skip


TABLE_HEADER = ["age_band", "population_male", "population_female", "issued_male", "issued_female",
                "rate_male_pct", "rate_female_pct", "rate_total_pct", "gap_female_minus_male_points"]  # fmt: skip
