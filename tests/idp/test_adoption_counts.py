"""Adoption counts (issue #18 §4): onboarding raises one counter of week × coarse band × sex, nothing else is kept,
and the city reads cumulative cells with those under 10 suppressed, with a client_credentials token of its own."""

from __future__ import annotations

import datetime

from django.db import connection
from django.test import Client as HttpClient
from pytest_django.fixtures import Settings

from anchorid.idp.adoption.counting import published_counts, record_onboarding
from anchorid.idp.adoption.models import OnboardingCount

from .oidc_support import register
from .ssf_support import api, cc_token, provider

__all__ = ["provider"]

MONDAY = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.UTC)


def _onboard(n: int, birth: datetime.date, gender: str, when: datetime.datetime) -> None:
    for _ in range(n):
        record_onboarding(birth, gender, when)


def test_it_keeps_only_week_band_sex_and_a_count(provider: None) -> None:
    _onboard(3, datetime.date(1990, 5, 1), "2", MONDAY + datetime.timedelta(days=2))
    row = OnboardingCount.objects.get()
    assert (row.week, row.age_band, row.sex, row.onboarded) == (datetime.date(2026, 11, 30), "30-39", "female", 3)
    columns = {
        c.name for c in connection.introspection.get_table_description(connection.cursor(), "adoption_onboardingcount")
    }
    assert columns == {"id", "week", "age_band", "sex", "onboarded"}  # no account, no birth date


def test_it_publishes_cumulative_cells_and_suppresses_those_under_ten(provider: None) -> None:
    _onboard(9, datetime.date(2010, 1, 1), "1", MONDAY)  # 16 years old: 15-19, male
    _onboard(12, datetime.date(1950, 1, 1), "2", MONDAY)  # 76: 70-79, female
    _onboard(1, datetime.date(2010, 1, 1), "1", MONDAY + datetime.timedelta(days=7))
    counts = published_counts()
    assert counts["k"] == 10
    first, second = counts["weeks"]
    cell = {(c["age_band"], c["sex"]): c["cumulative"] for c in first["cells"]}
    assert cell[("15-19", "male")] is None  # 9 < 10: suppressed
    assert cell[("70-79", "female")] == 12
    assert cell[("0-14", "female")] is None  # 0 is suppressed too: zero and small look alike
    later = {(c["age_band"], c["sex"]): c["cumulative"] for c in second["cells"]}
    assert later[("15-19", "male")] == 10
    assert later[("70-79", "female")] == 12


def test_it_serves_the_counts_only_to_the_city_with_an_adoption_token(provider: None, settings: Settings) -> None:
    settings.ANCHORID_IDP_ADOPTION_CLIENTS = "city"
    _onboard(10, datetime.date(1980, 1, 1), "1", MONDAY)
    city, _ = register("city")
    shop, _ = register("shop")
    token = cc_token(city, "adoption.read")
    assert token.status_code == 200, token.content
    ok = api("GET", "/adoption/v1/counts", {"Authorization": "Bearer " + token.json()["access_token"]})
    assert ok.status_code == 200
    assert ok.json()["weeks"][0]["week"] == "2026-11-30"
    assert cc_token(shop, "adoption.read").json()["error"] == "invalid_scope"
    assert cc_token(city, "adoption.read ssf.read").json()["error"] == "invalid_scope"
    ssf_token = cc_token(city, "ssf.read").json()["access_token"]
    wrong_audience = api("GET", "/adoption/v1/counts", {"Authorization": "Bearer " + ssf_token})
    assert wrong_audience.status_code == 401
    assert HttpClient().get("/adoption/v1/counts").status_code == 401
    assert HttpClient().post("/adoption/v1/counts").status_code == 405
