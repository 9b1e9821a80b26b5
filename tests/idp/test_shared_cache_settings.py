"""REDIS_URL adds a shared Redis cache and moves the short-lived stores there; without it nothing changes
(anchorid.common.shared_cache, docs/shared-state.md)."""

from __future__ import annotations

import pytest

from anchorid.common.shared_cache import SHARED, cache_settings, store_alias


def test_it_keeps_the_embedded_default_without_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    caches = cache_settings("idp")
    assert set(caches) == {"default"}
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert store_alias(None) is None
    assert store_alias("") is None
    assert store_alias("database") is None


def test_it_adds_a_redis_cache_per_party_and_moves_the_stores_there_with_redis_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")
    caches = cache_settings("city")
    assert caches[SHARED]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert caches[SHARED]["LOCATION"] == "redis://127.0.0.1:6379/9"
    assert caches[SHARED]["KEY_PREFIX"] == "anchorid:city"
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert store_alias(None) == SHARED
    assert store_alias("database") is None  # kept in the database on purpose
    assert store_alias(" other ") == "other"
