"""The sample providers' ``/healthz`` and ``/readyz`` (``anchorid.common.health``): no background jobs, so no
worker check; ready with the database and a provider's relying-party configuration, 503 without any."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from anchorid.common import settings_base
from support.health import alive, ready


def test_it_answers_healthz_without_the_database(client: Client) -> None:
    alive(client, "providers")


@pytest.mark.django_db
def test_it_is_ready_with_a_configured_provider(client: Client, provider_files: Path) -> None:
    status, checks, _ = ready(client)
    assert (status, checks) == (200, {"database": "ok", "keys": "ok"})


@pytest.mark.django_db
def test_it_is_not_ready_when_no_provider_is_configured(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_base, "DATA_DIR", tmp_path)  # a folder `anchorid providers setup` never wrote to
    status, checks, body = ready(client)
    assert (status, checks) == (503, {"database": "ok", "keys": "failed"})
    assert body["checks"][1]["reason"] == "startup checks failed: anchorid.providersim.E001"
    assert str(tmp_path) not in str(body)
