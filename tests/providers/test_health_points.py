"""The health points app's own side (no idp here; the link, the exchange and the credit end to end are in
tests/interop/test_health_points_link.py): its registration asks for nothing but ``openid``, walks earn points,
bad input is refused with nothing written, an award is stored pending before anything is sent, the refresh token is
sealed at rest, and the pages are Japanese first."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from anchorid.providersim import health_points
from anchorid.providersim.cli import registration_command
from anchorid.providersim.health_views import SUB_KEY
from anchorid.providersim.models import Award, Walker, WalkingDay
from anchorid.providersim.providers import HEALTH, PROVIDERS, SERVICES

pytestmark = pytest.mark.django_db


def logged_in(sub: str = "health-sub-1") -> tuple[Client, Walker]:
    walker = health_points.join(sub, {"refresh_token": "rt1.grant.1.mac"})
    browser = Client()
    session = browser.session
    session[SUB_KEY] = sub
    session.save()
    return browser, walker


def test_it_registers_the_health_app_with_openid_only_and_its_own_sector(tmp_path: Path) -> None:
    command = registration_command(HEALTH, tmp_path, {"redirect_uri": "http://x/health/callback/"}, "IDP")
    assert command[command.index("--scopes") + 1] == "openid"
    assert "--claims" not in command
    assert command[command.index("--sector-identifier-uri") + 1] == "https://health.providers.anchorid.test/"
    electricity = registration_command(PROVIDERS["electricity"], tmp_path, {"redirect_uri": "http://x/"}, "IDP")
    assert electricity[electricity.index("--claims") + 1] == "name address"  # the others as before
    assert "health" in SERVICES
    assert "health" not in PROVIDERS


def test_it_seals_the_refresh_token_at_rest() -> None:
    _, walker = logged_in()
    walker.refresh_from_db()
    assert "rt1.grant" not in walker.sealed_refresh_token
    assert health_points.unseal(walker.sealed_refresh_token) == "rt1.grant.1.mac"
    assert health_points.unseal("not-a-sealed-token") is None


def test_it_records_walks_as_points_and_shows_them_in_japanese() -> None:
    browser, walker = logged_in()
    today = timezone.localdate().isoformat()
    response = browser.post("/health/walk/", {"day": today, "steps": "8,450"}, follow=True)
    assert response.status_code == 200
    assert WalkingDay.objects.get(walker=walker).points == 8
    page = response.content.decode()
    assert 'data-points="8"' in page
    assert "送れるポイント" in page
    assert 'lang="ja"' in page
    browser.post("/health/walk/", {"day": today, "steps": "12000"})  # a correction of the same day
    assert health_points.available(walker) == 12


@pytest.mark.parametrize(
    ("day", "steps"),
    [("today", "-1"), ("today", "100001"), ("today", "1.5"), ("today", "abc"), ("today", "１０００"),
     ("tomorrow", "1000"), ("long-ago", "1000"), ("2026-13-40", "1000"), ("", "1000")],
)  # fmt: skip
def test_it_refuses_bad_walks_writing_nothing(day: str, steps: str) -> None:
    browser, _ = logged_in()
    today = timezone.localdate()
    days = {"today": today, "tomorrow": today + datetime.timedelta(days=1),
            "long-ago": today - datetime.timedelta(days=40)}  # fmt: skip
    value = days[day].isoformat() if day in days else day
    response = browser.post("/health/walk/", {"day": value, "steps": steps})
    assert response.status_code == 400
    assert 'class="notice notice--error"' in response.content.decode()  # the page, saying why (not a blank 400)
    assert WalkingDay.objects.count() == 0


def test_it_stores_an_award_pending_before_sending_and_never_beyond_the_points() -> None:
    _, walker = logged_in()
    health_points.record_walk(walker, timezone.localdate(), 5_000)
    award = health_points.new_award(walker, 3)
    assert award.state == Award.PENDING
    assert award.sent_at is None
    assert award.pk.startswith("award-")
    assert health_points.available(walker) == 2
    with pytest.raises(health_points.AwardError, match="not_enough_points"):
        health_points.new_award(walker, 3)
    with pytest.raises(health_points.AwardError, match="already_awarded"):  # the day cannot drop below the award
        health_points.record_walk(walker, timezone.localdate(), 1_000)
    assert WalkingDay.objects.get(walker=walker).points == 5


@pytest.mark.parametrize("points", ["0", "-3", "2.5", "x", "99999999"])
def test_it_refuses_bad_awards_writing_nothing(points: str) -> None:
    browser, walker = logged_in()
    health_points.record_walk(walker, timezone.localdate(), 5_000)
    response = browser.post("/health/award/", {"points": points})
    assert response.status_code == 400
    assert 'class="notice notice--error"' in response.content.decode()
    assert Award.objects.count() == 0


def test_it_sends_a_stranger_to_the_login_and_asks_for_nothing_personal() -> None:
    page = Client().get("/health/")
    assert page.status_code == 200
    assert 'id="login-anchorid"' in page.content.decode()
    assert Client().post("/health/award/", {"points": "1"}).status_code == 302
    assert Award.objects.count() == 0
