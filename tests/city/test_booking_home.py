"""The resident home: my bookings, eligibility derived from the verified claims, notices for the reader."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from anchorid.city.booking import service
from anchorid.city.booking.eligibility import eligibility
from anchorid.city.booking.models import CityUser, Notice

from .booking_support import facility, logged_in, outsider_claims, resident_claims, slot_in, user

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


def keys(claims: dict[str, object]) -> list[str]:
    return [item.key for item in eligibility(claims)]


def test_it_derives_eligibility_from_the_verified_claims_only() -> None:
    assert keys(resident_claims(age_over_65=True)) == ["resident_booking", "senior_courts"]
    assert keys(resident_claims(age_over_65=False)) == ["resident_booking"]
    assert keys(resident_claims()) == ["resident_booking"]  # age not shared: no senior reduction
    assert keys(outsider_claims()) == ["non_resident_booking"]
    assert keys({"sub": "x", "age_over_65": True}) == ["share_residence"]


def test_it_shows_notices_to_their_audience(client: Client) -> None:
    now = timezone.now()
    for audience, title in (("everyone", "For all"), ("residents", "For residents"), ("over_65", "For seniors")):
        Notice.objects.create(audience=audience, title_ja=title, title_en=title, published_at=now)
    Notice.objects.create(
        audience="everyone", title_ja="Later", title_en="Later", published_at=now + dt.timedelta(days=1)
    )
    anonymous = client.get("/", headers=EN).content.decode()
    assert "For all" in anonymous
    assert "For residents" not in anonymous
    assert "Later" not in anonymous
    outsider = logged_in(Client(), outsider_claims()).get("/", headers=EN).content.decode()
    assert "For all" in outsider
    assert "For residents" not in outsider
    senior = logged_in(Client(), resident_claims(age_over_65=True)).get("/", headers=EN).content.decode()
    assert all(title in senior for title in ("For all", "For residents", "For seniors"))


def test_it_lists_my_bookings_and_eligibility_on_the_home_page(client: Client) -> None:
    claims = resident_claims(age_over_65=True)
    booking = service.book(user(claims), slot_in(4, facility()))
    service.book(user(resident_claims("someone-else")), slot_in(5, facility("room", "Room")))
    body = logged_in(client, claims).get("/", headers=EN).content.decode()
    assert f'data-booking="{booking.reference}" data-status="tentative"' in body
    assert body.count("data-booking=") == 1
    assert 'data-eligibility="senior_courts"' in body


def test_it_registers_the_resident_on_first_visit_without_a_counter() -> None:
    logged_in(Client(), resident_claims("new-resident")).get("/")
    registered = CityUser.objects.get(sub="new-resident")
    assert registered.is_resident
    assert registered.registered_by_staff is None
