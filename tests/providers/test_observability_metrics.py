"""``/metrics`` of the sample providers through ``anchorid.providersim.wsgi.application``: requests by route pattern
(never the provider's slug or path), the request id sent back, loopback only without a token."""

from __future__ import annotations

import pytest

from anchorid.providersim.wsgi import application
from support.fuzz_http import FuzzRequest, call
from support.metrics_scrape import scrape

from .conftest import PROVIDER

pytestmark = pytest.mark.django_db


def test_it_counts_requests_by_route_pattern() -> None:
    before = scrape(application)
    answer = call(application, FuzzRequest("GET", f"/{PROVIDER}/.well-known/jwks.json"))
    # 200 once the suite's fixtures set the provider up in the shared data folder, else the view's own 404: either
    # way on the view's route
    assert answer.status in (200, 404)
    assert dict(answer.headers)["X-Request-ID"]
    after = scrape(application)
    labels = {"route": "/<slug:slug>/.well-known/jwks.json", "method": "GET", "status": str(answer.status)}
    assert (
        after.value("anchorid_http_requests_total", **labels)
        == before.value("anchorid_http_requests_total", **labels) + 1
    )
    assert not any(PROVIDER in value for value in after.label_values())


def test_it_answers_metrics_to_loopback_only() -> None:
    assert call(application, FuzzRequest("GET", "/metrics", remote_addr="198.51.100.7")).status == 403
