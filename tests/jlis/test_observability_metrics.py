"""jlis's OCSP responder counts its answers by status, through ``anchorid.jlis.wsgi.application`` (the thin path);
the route label names the responder, never the request a GET carries in its path."""

from __future__ import annotations

import base64

import pytest

from anchorid.jlis.wsgi import application
from support.fuzz_http import FuzzRequest, call
from support.metrics_scrape import scrape

pytestmark = pytest.mark.django_db


def test_it_counts_ocsp_answers_by_status_and_route() -> None:
    encoded = base64.urlsafe_b64encode(b"\x30\x03\x02\x01\x05").decode()
    before = scrape(application)
    assert call(application, FuzzRequest("POST", "/ocsp/auth", body=b"garbage")).status == 200
    assert call(application, FuzzRequest("GET", f"/ocsp/sign/{encoded}")).status == 200
    assert call(application, FuzzRequest("POST", "/ocsp/nosuch")).status == 404
    after = scrape(application)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("anchorid_ocsp_responses_total", responder="auth", status="malformed_request") == 1
    assert moved("anchorid_ocsp_responses_total", responder="sign", status="malformed_request") == 1
    assert moved("anchorid_http_requests_total", route="/ocsp/auth", method="POST", status="200") == 1
    assert moved("anchorid_http_requests_total", route="/ocsp/sign/<request>", method="GET", status="200") == 1
    assert moved("anchorid_http_requests_total", route="<unmatched>", method="POST", status="404") == 1
    assert not any(encoded in value or "nosuch" in value for value in after.label_values())
