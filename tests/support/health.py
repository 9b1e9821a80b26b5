"""Shared by each party's ``/healthz`` and ``/readyz`` tests (``anchorid.common.health``)."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.test import Client
from django.utils import timezone

from anchorid.common import health
from anchorid.common.worker import heartbeat


def ready(client: Client) -> tuple[int, dict[str, str], dict[str, Any]]:
    """``/readyz``'s status, each check's status by name, and the whole body."""
    health.clear_cache()
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert "Set-Cookie" not in response
    assert "no-store" in response["Cache-Control"]
    body = json.loads(response.content)
    assert set(body) == {"party", "status", "checks"}
    for check in body["checks"]:
        assert set(check) == {"name", "status", "reason"}
        assert check["status"] in ("ok", "failed")
    assert body["status"] == ("ready" if response.status_code == 200 else "not ready")
    return response.status_code, {check["name"]: check["status"] for check in body["checks"]}, body


def alive(client: Client, party: str) -> None:
    """``/healthz``: 200 and the party, no cookie; GET and HEAD only."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"party": party, "status": "alive"}
    assert "Set-Cookie" not in response
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def worker_beat(party: str, *, seconds_ago: float = 0) -> None:
    """A worker of ``party`` that beat ``seconds_ago``."""
    now = timezone.now()
    heartbeat.beat(f"test-worker-{party}", party, now, {})
    if seconds_ago:
        from anchorid.common.models import WorkerHeartbeat

        WorkerHeartbeat.objects.filter(party=party).update(last_beat=now - datetime.timedelta(seconds=seconds_ago))
