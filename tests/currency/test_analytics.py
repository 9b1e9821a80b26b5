"""Analytics: aggregates only, a cell of fewer than k = 10 people suppressed (a cell of 9 shows as suppressed),
charts as Vega-Lite (Altair) drawn to SVG, CSV per chart."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anchorid.currency import analytics, service

from .conftest import RESIDENT, VISITOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def spending() -> None:
    shop = service.register_merchant("owner", "鎌倉パン", "food")
    service.approve_merchant(shop)
    shop.refresh_from_db()
    for n in range(10):  # ten residents: shown
        member = service.join(f"r{n}", RESIDENT)
        service.charge(member, 1_000, f"cr{n}")
        service.pay(member, shop, 100, f"pr{n}")
    for n in range(9):  # nine visitors: suppressed
        member = service.join(f"v{n}", VISITOR)
        service.charge(member, 1_000, f"cv{n}")
        service.pay(member, shop, 100, f"pv{n}")


def test_it_suppresses_a_cell_of_nine_people(spending: None) -> None:
    cells = {cell.label: cell for cell in analytics.spending("tier")}
    assert (cells["resident"].people, cells["resident"].amount) == (10, 1_000)
    assert cells["visitor"].suppressed
    assert cells["visitor"].amount is None
    csv_text = analytics.as_csv(analytics.spending("tier"))
    assert "visitor,,,yes" in csv_text
    assert "resident,10,1000," in csv_text


def test_it_shows_the_dashboard_to_staff_with_the_privacy_note_charts_and_csv(spending: None) -> None:
    staff = Client()
    staff.force_login(User.objects.create_user("issuer", password="x", is_staff=True))
    page = staff.get("/issuer/analytics/").content.decode()
    assert 'id="privacy"' in page
    assert "suppressed" in page
    svg = staff.get("/issuer/analytics/tier.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    assert staff.get("/issuer/analytics/tier.csv").status_code == 200
    assert staff.get("/issuer/analytics/nothing.csv").status_code == 404
    assert Client().get("/issuer/analytics/").status_code == 302
