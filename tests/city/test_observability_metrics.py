"""``/metrics`` of the city through ``anchorid.city.wsgi.application``: requests by route pattern, 4xx counted, the
request id sent back, loopback only without a token."""

from __future__ import annotations

import pytest

from anchorid.city.wsgi import application
from support.fuzz_http import FuzzRequest, call
from support.metrics_scrape import scrape

pytestmark = pytest.mark.django_db


def test_it_counts_requests_and_errors_by_route_pattern() -> None:
    before = scrape(application)
    assert call(application, FuzzRequest("GET", "/")).status in (200, 302)
    assert call(application, FuzzRequest("GET", "/nowhere/9f8e7d6c5b4a")).status == 404
    after = scrape(application)
    home = after.labels_of("anchorid_http_requests_total")
    assert any(labels["route"] == "/" and labels["method"] == "GET" for labels in home)
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert (
        after.value("anchorid_http_requests_total", **unmatched)
        == before.value("anchorid_http_requests_total", **unmatched) + 1
    )
    assert not any("9f8e7d6c5b4a" in value for value in after.label_values())


def test_it_keeps_a_well_formed_request_id_and_refuses_a_remote_scraper() -> None:
    answer = call(application, FuzzRequest("GET", "/", headers={"X-Request-ID": "city-request-000001"}))
    assert dict(answer.headers)["X-Request-ID"] == "city-request-000001"
    assert call(application, FuzzRequest("GET", "/metrics", remote_addr="198.51.100.7")).status == 403
