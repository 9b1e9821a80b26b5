"""The staff adoption dashboard (issue #18 §4): the deck's observations recomputed from the table, the city's table,
AnchorID's k-anonymous counts as a share of the population week by week, where to act, charts and CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client

from anchorid.city.adoption import adoption, tables
from anchorid.city.adoption.cli import load_table
from anchorid.city.adoption.demo import synthetic_city_csv
from anchorid.city.adoption.models import AdoptionCell

from .lottery_support import staff_client

pytestmark = pytest.mark.django_db
SHARED_TABLE = "data/mynumber_card_issuance_by_age_sex_2022-08.csv"


def _shared_copy() -> Path:
    """The deck's table in shared/ (beside the repository in CI, /work/shared on a developer's machine)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "shared", Path("/work/shared")):
        if (candidate / SHARED_TABLE).exists():
            return candidate / SHARED_TABLE
    raise AssertionError("shared/data is missing")


def test_it_recomputes_the_decks_observations_from_the_table() -> None:
    shipped = tables.NATIONAL_CSV.read_bytes()
    assert shipped == _shared_copy().read_bytes()  # the copy the city ships is the deck's table
    bands = tables.national()
    published = tables.published_rates()
    for band in bands:  # the rates we compute from the counts are the published ones (one decimal)
        male, female, total = published[band.age_band]
        assert abs(band.rate_male - male) < 0.051
        assert abs(band.rate_female - female) < 0.051
        assert abs(band.rate - total) < 0.051
    seen = tables.observations(bands)
    assert round(seen.average_rate, 1) == published["all"][2] == 47.4
    assert seen.youth_band.age_band == "15-19"
    assert seen.youth_below_average
    assert {b.age_band for b in seen.gaps_20_39} == {"20-24", "25-29", "30-34", "35-39"}
    assert seen.largest_gap.age_band == "25-29"
    assert seen.largest_gap.gap >= 6.0
    assert all(b.gap > 0 for b in seen.gaps_20_39)  # women ahead of men in every band 20-39
    assert (seen.lowest.age_band, round(seen.lowest.rate, 1)) == ("0-4", 29.9)
    assert (seen.highest.age_band, round(seen.highest.rate, 1)) == ("75-79", 55.0)


def _published(weeks: list[tuple[str, dict[tuple[str, str], int | None]]]) -> dict[str, object]:
    from anchorid.common.adoption_bands import BAND_LABELS

    return {
        "k": 10,
        "weeks": [
            {
                "week": week,
                "cells": [
                    {"age_band": b, "sex": s, "cumulative": values.get((b, s))}
                    for b in BAND_LABELS
                    for s in ("male", "female")
                ],
            }
            for week, values in weeks
        ],
    }


def test_it_shows_adoption_as_a_share_week_by_week_and_where_to_act() -> None:
    load_table(synthetic_city_csv())
    adoption.store(_published([
        ("2026-11-23", {("70-79", "female"): 12}),
        ("2026-11-30", {("70-79", "female"): 30, ("30-39", "male"): 11, ("40-49", "female"): 40}),
    ]))  # fmt: skip
    with pytest.raises(adoption.FetchError):  # a cell under k from the idp is refused, nothing replaced
        adoption.store(_published([("2026-12-07", {("0-14", "male"): 3})]))
    assert AdoptionCell.objects.filter(week="2026-11-30", cumulative=40).exists()
    shares = adoption.weekly_shares()
    latest = {(s.age_band, s.sex): s for s in adoption.latest_shares(shares)}
    assert latest[("70-79", "female")].onboarded == 30
    assert latest[("0-14", "male")].onboarded is None
    assert latest[("0-14", "male")].share_pct is None
    population = adoption.coarse_population(adoption.city_bands())
    assert latest[("40-49", "female")].share_pct == pytest.approx(100 * 40 / population[("40-49", "female")])
    actions = adoption.where_to_act(shares, tables.national())
    assert len(actions) == 3
    assert all(a.share.onboarded is None for a in actions)
    assert actions[0].share.upper_bound_pct == min(s.upper_bound_pct for s in latest.values())

    staff = staff_client(areas=("reports",))
    japanese = staff.get("/staff/adoption/").content.decode()
    assert "普及状況ダッシュボード" in japanese
    assert "重点的に取り組む対象" in japanese
    page = staff.get("/staff/adoption/", headers={"Accept-Language": "en"}).content.decode()
    assert 'id="obs-youth"' in page
    assert "42.3" in page
    assert "47.4" in page
    assert "25-29" in page
    assert "75-79" in page
    assert 'id="where-to-act"' in page
    rows = list(csv.reader(io.StringIO(staff.get("/staff/adoption/?csv=adoption").content.decode("utf-8-sig"))))
    assert rows[0] == adoption.SHARES_HEADER
    assert rows[[r[:3] for r in rows].index(["2026-11-30", "0-14", "male"])][:4] == [
        "2026-11-30",
        "0-14",
        "male",
        "<10",
    ]
    for kind in ("national", "city", "observations", "act"):
        response = staff.get(f"/staff/adoption/?csv={kind}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
    for name in ("national", "city", "adoption"):
        svg = staff.get(f"/staff/adoption/charts/{name}.svg")
        assert svg.status_code == 200
        assert svg.content.startswith(b"<svg")
    assert staff.get("/staff/adoption/charts/other.svg").status_code == 404
    assert staff.get("/staff/adoption/?csv=other").status_code == 404
    assert staff_client("booker", areas=("bookings",)).get("/staff/adoption/").status_code == 403
    assert Client().get("/staff/adoption/").status_code == 302
