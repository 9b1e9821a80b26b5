"""Prometheus metrics of the idp, scraped through ``anchorid.idp.wsgi.application`` (the production entry point) and
read with prometheus_client's own parser: requests by route pattern (never a path holding a code or token), who may
read ``/metrics``, the request id, login and onboarding outcomes by reason, OCSP checks at a real jlis, the Shared
Signals outbox and deliveries, job runs, sweep duration and audit checkpoints."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from anchorid.common import request_id
from anchorid.idp import wsgi
from anchorid.idp.audit import schedule
from anchorid.idp.lifecycle import jobs
from anchorid.idp.lifecycle.sweep import SweepFailed, run_sweep
from anchorid.idp.ssf import delivery, emit
from support.fuzz_http import FuzzRequest, call
from support.metrics_scrape import scrape

from .oidc_support import register, resident
from .onboarding_support import ADULT_PLAIN, Helper, Jlis, onboard
from .ssf_support import connect, provider, push_stream, receiver_factory, ssf

__all__ = ["provider", "receiver_factory", "ssf"]

pytestmark = pytest.mark.django_db

REQUESTS = "anchorid_http_requests_total"
DURATION = "anchorid_http_request_duration_seconds_count"


def _get(path: str, **request: Any) -> Any:
    return call(wsgi.application, FuzzRequest("GET", path, **request))


def test_it_counts_requests_by_route_pattern_never_by_path(platform_keys: Path) -> None:
    code = "CODE" + secrets.token_hex(8)
    token = secrets.token_urlsafe(24)
    before = scrape(wsgi.application)
    assert _get(f"/onboarding/device/{code}/").status == 404  # no such cross-device code: the view's refusal
    assert _get("/oidc/jwks").status == 200  # the thin dispatch
    assert _get(f"/no/such/page/{token}").status == 404
    after = scrape(wsgi.application)

    device = {"route": "/onboarding/device/<str:code>/", "method": "GET", "status": "404"}
    assert after.value(REQUESTS, **device) == before.value(REQUESTS, **device) + 1
    jwks = {"route": "/oidc/jwks", "method": "GET", "status": "200"}
    assert after.value(REQUESTS, **jwks) == before.value(REQUESTS, **jwks) + 1
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert after.value(REQUESTS, **unmatched) == before.value(REQUESTS, **unmatched) + 1
    latency = {"route": "/oidc/jwks", "method": "GET"}
    assert after.value(DURATION, **latency) == before.value(DURATION, **latency) + 1
    assert after.families["anchorid_http_request_duration_seconds"] == "histogram"
    for value in after.label_values():
        assert code not in value
        assert token not in value


def test_it_lets_only_loopback_without_a_proxy_read_metrics() -> None:
    assert _get("/metrics").status == 200
    assert _get("/metrics", remote_addr="::1").status == 200
    assert _get("/metrics", remote_addr="192.0.2.10").status == 403
    proxied = _get("/metrics", headers={"X-Forwarded-For": "192.0.2.10"})
    assert (proxied.status, proxied.body) == (403, b"not allowed to read the metrics\n")
    assert call(wsgi.application, FuzzRequest("POST", "/metrics")).status == 405


def test_it_asks_for_the_bearer_token_when_one_is_set(settings: Settings) -> None:
    settings.ANCHORID_METRICS_TOKEN = token = secrets.token_urlsafe(32)
    refused = _get("/metrics")
    assert refused.status == 401
    assert dict(refused.headers)["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert _get("/metrics", headers={"Authorization": "Bearer wrong"}).status == 401
    assert _get("/metrics", headers={"Authorization": f"Basic {token}"}).status == 401
    granted = _get("/metrics", remote_addr="192.0.2.10", headers={"Authorization": f"Bearer {token}"})
    assert granted.status == 200
    assert b"anchorid_http_requests_total" in granted.body


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    accept=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
    | st.sampled_from(["text/plain; version=x.y", "application/openmetrics-text; version=1.a", ";;,"]),
    authorization=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
    method=st.sampled_from(["GET", "HEAD", "POST", "DELETE", "BREW"]),
)
def test_it_never_fails_on_odd_scrape_headers(accept: str, authorization: str, method: str) -> None:
    headers = {"Accept": accept, "Authorization": authorization}
    answer = call(wsgi.application, FuzzRequest(method, "/metrics", headers=headers))
    assert answer.status in (200, 405)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("req-0123456789abcdef", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("short", False),
        ("has space 0123456789", False),
        ("line\nbreak0123456789", False),
        ("x" * 129, False),
    ],
)
def test_it_answers_with_the_request_id(incoming: str, kept: bool) -> None:
    answer = _get("/oidc/jwks", headers={"X-Request-ID": incoming})
    (sent,) = [value for name, value in answer.headers if name.lower() == "x-request-id"]
    if kept:
        assert sent == incoming
    else:
        assert sent != incoming
        assert request_id.well_formed(sent)
        assert len(sent) == 32
    fresh = _get("/onboarding/device/unknown/")
    assert request_id.well_formed(dict(fresh.headers)[request_id.HEADER])


# --- logins, onboardings and OCSP, with a real jlis and the real card helper --------------------------------------


@pytest.fixture
def helper(idp: Jlis, card_helper: Callable[..., Helper]) -> Helper:
    card = idp.adult(ADULT_PLAIN)
    return card_helper(card["card_file"], card["signature_pin"])


def _card_login(client: Client, helper: Helper) -> Any:
    challenge = client.get("/login/card/").context["challenge"]
    body = json.dumps({"challenge": challenge, **helper.sign(challenge).json()})
    return client.post("/login/card/complete/", body, content_type="application/json")


def test_it_counts_onboarding_logins_and_ocsp_checks_by_outcome(helper: Helper) -> None:
    before = scrape(wsgi.application)
    client = Client()
    assert _card_login(client, helper).json()["error"] == "card_not_registered"
    assert client.post("/login/card/complete/", "{", content_type="application/json").status_code == 400
    assert onboard(Client(), helper).status_code == 201
    assert onboard(Client(), helper).status_code == 200  # the same card again: already registered
    assert _card_login(client, helper).status_code == 200
    passkey = client.post("/login/passkey/finish/", "{}", content_type="application/json")
    assert passkey.status_code == 400
    after = scrape(wsgi.application)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    logins = "anchorid_idp_logins_total"
    assert moved(logins, method="card", outcome="refused", reason="card_not_registered") == 1
    assert moved(logins, method="card", outcome="refused", reason="malformed_request") == 1
    assert moved(logins, method="card", outcome="success", reason="none") == 1
    assert moved(logins, method="passkey", outcome="refused", reason=passkey.json()["error"]) == 1
    onboardings = "anchorid_idp_onboardings_total"
    assert moved(onboardings, method="card", outcome="created", reason="none") == 1
    assert moved(onboardings, method="card", outcome="already_registered", reason="none") == 1
    # four card signatures checked at jlis's OCSP responder, all good
    assert moved("anchorid_idp_ocsp_checks_total", check="card_signature", status="good") == 4


def test_it_counts_an_onboarding_refusal_by_reason(idp: Jlis, card_helper: Callable[..., Helper]) -> None:
    before = scrape(wsgi.application)
    client = Client()
    challenge = client.get("/onboarding/").context["challenge"]
    card = idp.adult(ADULT_PLAIN)
    signed = card_helper(card["card_file"], card["signature_pin"]).sign(challenge).json()
    body = json.dumps({"challenge": challenge, **signed, "signature": signed["certificate"][:40]})
    refused = client.post("/onboarding/complete/", body, content_type="application/json")
    reason = refused.json()["error"]
    after = scrape(wsgi.application)
    labels = {"method": "card", "outcome": "refused", "reason": reason}
    assert after.value("anchorid_idp_onboardings_total", **labels) == (
        before.value("anchorid_idp_onboardings_total", **labels) + 1
    )


# --- Shared Signals: outbox depth, deliveries, delay ----------------------------------------------------------------


def test_it_reports_the_outbox_depth_and_counts_deliveries(ssf: None, receiver_factory: Any) -> None:
    account = resident()
    rp, client = register("electricity", redirect_uri="https://power.example/cb")
    receiver = receiver_factory("electricity")
    push_stream(rp, receiver.url)
    connect(account, client)
    with transaction.atomic():
        for n in range(3):
            emit.emit_claims_change(account, {"address": {"formatted": f"address {n}"}}, reason="moved")
    before = scrape(wsgi.application)
    assert before.value("anchorid_idp_ssf_outbox_events", state="pending") == 3
    assert before.value("anchorid_idp_ssf_outbox_oldest_pending_seconds") >= 0

    assert delivery.run_once().delivered == 3
    after = scrape(wsgi.application)
    assert after.value("anchorid_idp_ssf_outbox_events", state="pending") == 0
    assert after.value("anchorid_idp_ssf_outbox_oldest_pending_seconds") == 0
    delivered = after.value("anchorid_idp_ssf_deliveries_total", outcome="delivered")
    assert delivered == before.value("anchorid_idp_ssf_deliveries_total", outcome="delivered") + 3
    lag = "anchorid_idp_ssf_delivery_lag_seconds_count"
    assert after.value(lag) == before.value(lag) + 3
    # each SET went with a request id of its own, which the receiver can log
    sent = [headers["x-request-id"] for headers in receiver.requests]
    assert len(set(sent)) == 3
    assert all(request_id.well_formed(value) for value in sent)


# --- jobs, sweep, audit checkpoints ---------------------------------------------------------------------------------


def test_it_counts_job_runs_and_reports_failures_since_the_last_success() -> None:
    before = scrape(wsgi.application)

    def fail() -> None:
        raise RuntimeError("broken on purpose")

    assert jobs.run_job("metrics-test", lambda: 1, force=True).ok  # type: ignore[union-attr]
    assert not jobs.run_job("metrics-test", fail, force=True).ok  # type: ignore[union-attr]
    assert not jobs.run_job("metrics-test", fail, force=True).ok  # type: ignore[union-attr]
    after = scrape(wsgi.application)
    runs = "anchorid_idp_job_runs_total"
    assert after.value(runs, job="metrics_test", result="ok") == before.value(runs, job="metrics_test", result="ok") + 1
    assert after.value(runs, job="metrics_test", result="failed") == (
        before.value(runs, job="metrics_test", result="failed") + 2
    )
    assert after.value("anchorid_idp_job_consecutive_failures", job="metrics_test") == 2
    assert after.value("anchorid_idp_job_last_finished_timestamp_seconds", job="metrics_test", status="failed") > 0
    duration = "anchorid_idp_job_duration_seconds_count"
    assert after.value(duration, job="metrics_test") == before.value(duration, job="metrics_test") + 3


def test_it_times_a_sweep_that_fails(settings: Settings) -> None:
    settings.ANCHORID_JLIS_URL = "http://127.0.0.1:9"  # nothing listens: the CRL cannot be fetched
    before = scrape(wsgi.application)
    with pytest.raises(SweepFailed):
        run_sweep(trigger="manual")
    after = scrape(wsgi.application)
    count = "anchorid_idp_lifecycle_sweep_duration_seconds_count"
    assert after.value(count, result="failed") == before.value(count, result="failed") + 1


def test_it_counts_audit_checkpoint_attempts(platform_keys: Any, log_entries: Callable[[int], Any]) -> None:
    before = scrape(wsgi.application)
    schedule.checkpoint_job()  # nothing logged yet
    log_entries(3)
    schedule.checkpoint_job()
    after = scrape(wsgi.application)
    checkpoints = "anchorid_idp_audit_checkpoints_total"
    for result in ("nothing_new", "signed"):
        assert after.value(checkpoints, result=result) == before.value(checkpoints, result=result) + 1
