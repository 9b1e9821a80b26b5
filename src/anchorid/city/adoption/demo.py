"""The demo's synthetic city table: the national table scaled to a city of about 172,000 residents, with a fixed
per-band variation (synthetic data: no real city's figures)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from anchorid.city.adoption.tables import REQUIRED, national

CITY_POPULATION = 172_000
#: Issuance-rate offsets in points per band index (fixed, so the demo and its tests see the same table).
VARIATION = (2.0, -1.0, 1.5, -3.0, 0.5, 2.5, -2.0, 1.0, 0.0, -1.5, 3.0, 1.0, -0.5, 2.0, 1.5, -1.0, 0.5, 2.0, -2.5, 1.0)


def synthetic_city_csv() -> str:
    bands = national()
    total = sum(b.population for b in bands)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REQUIRED)
    for index, band in enumerate(bands):
        offset = VARIATION[index % len(VARIATION)] / 100
        male = round(band.population_male * CITY_POPULATION / total)
        female = round(band.population_female * CITY_POPULATION / total)
        issued_male = min(male, max(0, round(male * (band.issued_male / band.population_male + offset))))
        issued_female = min(female, max(0, round(female * (band.issued_female / band.population_female + offset))))
        writer.writerow([band.age_band, male, female, issued_male, issued_female])
    return buffer.getvalue()


def set_up(data: Path, city_data: Path) -> Path:
    """Every demo run: write the synthetic table to DATA and load it into the city (replacing the previous one)."""
    table = data / "city-card-issuance-demo.csv"
    table.write_text(synthetic_city_csv())
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "anchorid.cli", "city", "adoption", "load-table", "--data",
                           str(city_data), "--as-of", "demo", str(table)], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"anchorid city adoption load-table failed:\n{done.stderr.strip()}")
    return table
