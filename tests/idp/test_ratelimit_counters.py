"""Rate-limit counters live in the party's database by default (shared by every worker), keep no address as is,
and are pruned when their window ends; a configured shared cache takes their place."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from anchorid.common import ratelimit
from anchorid.common.models import RateLimitCounter
from anchorid.idp.ratelimit import Limit as ReexportedLimit

pytestmark = pytest.mark.django_db
LIMIT = ratelimit.Limit("test-limit", attempts=3, window_seconds=60)


def test_it_counts_in_the_database_without_keeping_the_address() -> None:
    assert [ratelimit.hit(LIMIT, "192.0.2.1", now=1000.0) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(ratelimit.RateLimited) as limited:
        ratelimit.hit(LIMIT, "192.0.2.1", now=1010.0)
    assert limited.value.retry_after == 1020 - 1010 + 1
    row = RateLimitCounter.objects.get()
    assert row.hits == 4
    assert row.expires_at == 1020
    assert "192.0.2.1" not in row.counter_key
    assert ratelimit.hit(LIMIT, "192.0.2.1", now=1020.0) == 1  # a new window


def test_it_prunes_the_counters_of_ended_windows() -> None:
    for number in range(50):
        ratelimit.hit(LIMIT, f"192.0.2.{number}", now=1000.0)
    assert RateLimitCounter.objects.count() == 50
    ratelimit.hit(LIMIT, "198.51.100.1", now=1000.0 + 60 + ratelimit.PRUNE_EVERY_SECONDS)
    assert RateLimitCounter.objects.count() == 1  # only the new window's row is left


def test_it_checks_and_resets_without_counting() -> None:
    for _ in range(3):
        ratelimit.hit(LIMIT, "k", now=1000.0)
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.check(LIMIT, "k", now=1000.0)
    assert ratelimit.count(LIMIT, "k", now=1000.0) == 3
    ratelimit.reset(LIMIT, "k", now=1000.0)
    ratelimit.check(LIMIT, "k", now=1000.0)
    assert ratelimit.count(LIMIT, "k", now=1000.0) == 0


def test_it_counts_in_a_configured_shared_cache_instead(settings: Settings) -> None:
    settings.ANCHORID_RATELIMIT_CACHE = "default"
    cache.clear()
    for _ in range(3):
        ratelimit.hit(LIMIT, "k")
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.hit(LIMIT, "k")
    assert not RateLimitCounter.objects.exists()


def test_it_keeps_the_idp_import_path() -> None:
    assert ReexportedLimit is ratelimit.Limit


def test_it_reads_the_client_address_that_many_proxies_from_the_end(settings: Settings, rf: RequestFactory) -> None:
    """``ANCHORID_TRUSTED_PROXY_HOPS``: 0 takes the peer; N takes the N-th X-Forwarded-For entry from the end (what
    the N-th proxy saw), so entries a client wrote in front of them change nothing."""
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", REMOTE_ADDR="127.0.0.1")
    settings.ANCHORID_TRUSTED_PROXY_HOPS = 0
    assert ratelimit.client_ip(request) == "127.0.0.1"
    settings.ANCHORID_TRUSTED_PROXY_HOPS = 1
    assert ratelimit.client_ip(request) == "198.51.100.7"
    settings.ANCHORID_TRUSTED_PROXY_HOPS = 2
    assert ratelimit.client_ip(request) == "203.0.113.9"
    settings.ANCHORID_TRUSTED_PROXY_HOPS = 3  # fewer entries than proxies: not through them, the peer counts
    assert ratelimit.client_ip(request) == "127.0.0.1"
