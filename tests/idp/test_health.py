"""The idp's ``/healthz`` and ``/readyz`` (``anchorid.common.health``), through its production WSGI application:
ready with its database, its unlocked key store, a fresh worker heartbeat and jlis answering; 503 naming the
check that failed otherwise, never showing a passphrase or a path."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.idp.keystore import EncryptedFileKeyStore
from support.health import alive, ready, worker_beat

from .conftest import FAST_SCRYPT_N, PASSPHRASE
from .lifecycle_support import closed_port_url


class NotFound(BaseHTTPRequestHandler):
    """A jlis that answers (here: 404, as the real J-LIS would for a path it does not have)."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def jlis_answering(settings: Settings) -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ANCHORID_JLIS_URL = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def unlocked(platform_keys: Path) -> Path:
    EncryptedFileKeyStore(platform_keys / "keys", PASSPHRASE, scrypt_n=FAST_SCRYPT_N).create_key("probe", "EC-P256")
    return platform_keys


def test_it_answers_healthz_without_the_database(client: Client) -> None:
    alive(client, "idp")


@pytest.mark.django_db
def test_it_is_ready_when_every_check_passes(client: Client, unlocked: Path, jlis_answering: None) -> None:
    worker_beat("idp")
    status, checks, _ = ready(client)
    assert (status, checks) == (200, {"database": "ok", "keys": "ok", "worker": "ok", "jlis": "ok"})


@pytest.mark.django_db
def test_it_is_not_ready_when_jlis_does_not_answer(client: Client, unlocked: Path, settings: Settings) -> None:
    settings.ANCHORID_JLIS_URL = closed_port_url()
    worker_beat("idp")
    status, checks, body = ready(client)
    assert (status, checks) == (503, {"database": "ok", "keys": "ok", "worker": "ok", "jlis": "failed"})
    assert body["checks"][3]["reason"] == "jlis does not answer (ConnectionError)"


@pytest.mark.django_db
def test_it_is_not_ready_when_the_passphrase_does_not_open_the_keys(
    client: Client, unlocked: Path, jlis_answering: None, settings: Settings
) -> None:
    settings.ANCHORID_KEYSTORE_PASSPHRASE = "a wrong passphrase, long enough"
    worker_beat("idp")
    status, checks, body = ready(client)
    assert (status, checks) == (503, {"database": "ok", "keys": "failed", "worker": "ok", "jlis": "ok"})
    assert body["checks"][1]["reason"] == "startup checks failed: anchorid.idp.E003"
    text = str(body)
    assert "wrong passphrase" not in text
    assert PASSPHRASE not in text
    assert str(unlocked) not in text


@pytest.mark.django_db
def test_it_is_not_ready_without_a_fresh_worker_heartbeat(
    client: Client, unlocked: Path, jlis_answering: None, settings: Settings
) -> None:
    settings.ANCHORID_WORKER_STALE_SECONDS = "20"
    status, checks, body = ready(client)
    assert (status, checks["worker"]) == (503, "failed")
    assert body["checks"][2]["reason"] == "no worker heartbeat in the last 20 s"
    worker_beat("idp", seconds_ago=21)
    assert ready(client)[1]["worker"] == "failed"
    worker_beat("idp", seconds_ago=5)
    assert ready(client)[0] == 200


def _shared_cache(location: str) -> dict[str, dict[str, Any]]:
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location,
                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}},
    }  # fmt: skip


@pytest.mark.django_db
def test_it_checks_the_shared_redis_cache_when_one_is_configured(
    client: Client, unlocked: Path, jlis_answering: None, settings: Settings
) -> None:
    # scripts/test always gives the suites a Redis (a private one when none answers at 127.0.0.1:6379).
    settings.CACHES = _shared_cache(os.environ.get("ANCHORID_TEST_REDIS_URL", "redis://127.0.0.1:6379/1"))
    worker_beat("idp")
    status, checks, _ = ready(client)
    assert (status, checks["shared-cache"]) == (200, "ok")


@pytest.mark.django_db
def test_it_is_not_ready_when_the_shared_redis_cache_does_not_answer(
    client: Client, unlocked: Path, jlis_answering: None, settings: Settings
) -> None:
    port = closed_port_url().rsplit(":", 1)[1]
    settings.CACHES = _shared_cache(f"redis://127.0.0.1:{port}/0")
    worker_beat("idp")
    status, checks, body = ready(client)
    assert (status, checks["shared-cache"]) == (503, "failed")
    reasons = {check["name"]: check["reason"] for check in body["checks"]}
    assert reasons["shared-cache"] == "Redis does not answer (ConnectionError)"
