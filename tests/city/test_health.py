"""The city's ``/healthz`` and ``/readyz`` (``anchorid.common.health``): ready with its database, its relying-party
configuration and keys, and a fresh heartbeat of its worker (booking expiry, lottery release); 503 otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from anchorid.common import settings_base
from anchorid.common.rp import setup as rp_setup
from support.health import alive, ready, worker_beat


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The city's data folder, set up (``anchorid city setup``: its client configuration and keys)."""
    monkeypatch.setattr(settings_base, "DATA_DIR", tmp_path)
    rp_setup.ensure_keys(tmp_path)
    rp_setup.write_config(tmp_path, issuer="http://localhost:8001", origin="http://localhost:8002",
                          client_id="city", scope="openid", claims={})  # fmt: skip
    return tmp_path


def test_it_answers_healthz_without_the_database(client: Client) -> None:
    alive(client, "city")


@pytest.mark.django_db
def test_it_is_ready_with_a_fresh_worker_heartbeat(client: Client, data_dir: Path) -> None:
    worker_beat("city")
    status, checks, _ = ready(client)
    assert (status, checks) == (200, {"database": "ok", "keys": "ok", "worker": "ok"})


@pytest.mark.django_db
def test_it_is_not_ready_when_its_worker_stopped_beating(client: Client, data_dir: Path) -> None:
    worker_beat("city", seconds_ago=3600)
    status, checks, _ = ready(client)
    assert (status, checks) == (503, {"database": "ok", "keys": "ok", "worker": "failed"})


@pytest.mark.django_db
def test_it_is_not_ready_without_its_client_configuration(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_base, "DATA_DIR", tmp_path)  # a folder `anchorid city setup` never wrote to
    worker_beat("city")
    status, checks, body = ready(client)
    assert (status, checks) == (503, {"database": "ok", "keys": "failed", "worker": "ok"})
    assert body["checks"][1]["reason"] == "startup checks failed: anchorid.city.E001"
    assert str(tmp_path) not in str(body)
