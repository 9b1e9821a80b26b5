"""The library's ``/healthz`` and ``/readyz``: ready with its database, its relying-party configuration and a fresh
heartbeat of its worker (the circulation job); not ready without the configuration or when the worker stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from anchorid.common import settings_base
from anchorid.common.rp import setup as rp_setup
from anchorid.library import rp
from support.health import alive, ready, worker_beat


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings_base, "DATA_DIR", tmp_path)
    rp_setup.ensure_keys(tmp_path)
    rp.write_config(tmp_path, issuer="http://localhost:8001", origin="http://localhost:8006")
    return tmp_path


def test_it_answers_healthz_without_the_database(client: Client) -> None:
    alive(client, "library")


@pytest.mark.django_db
def test_it_is_ready_with_a_fresh_worker_heartbeat(client: Client, data_dir: Path) -> None:
    worker_beat("library")
    status, checks, _ = ready(client)
    assert (status, checks) == (200, {"database": "ok", "keys": "ok", "worker": "ok"})


@pytest.mark.django_db
def test_it_is_not_ready_without_its_configuration_or_worker(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_base, "DATA_DIR", tmp_path)
    worker_beat("library", seconds_ago=3600)
    status, checks, body = ready(client)
    assert (status, checks) == (503, {"database": "ok", "keys": "failed", "worker": "failed"})
    assert body["checks"][1]["reason"] == "startup checks failed: anchorid.library.E001"
