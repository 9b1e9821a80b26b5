"""jlis's ``/healthz`` and ``/readyz`` (``anchorid.common.health``): ready with its database, its CA keys and a
fresh worker heartbeat (the OCSP/CRL refresh job); 503 naming the worker when its heartbeat is stale."""

from __future__ import annotations

import pytest
from django.test import Client

from support.health import alive, ready, worker_beat


def test_it_answers_healthz_without_the_database(client: Client) -> None:
    alive(client, "jlis")


@pytest.mark.django_db
def test_it_is_ready_with_a_fresh_worker_heartbeat(client: Client) -> None:
    worker_beat("jlis")
    status, checks, _ = ready(client)
    assert (status, checks) == (200, {"database": "ok", "keys": "ok", "worker": "ok"})


@pytest.mark.django_db
def test_it_is_not_ready_when_the_worker_stopped_beating(client: Client) -> None:
    worker_beat("jlis", seconds_ago=3600)
    status, checks, body = ready(client)
    assert (status, checks) == (503, {"database": "ok", "keys": "ok", "worker": "failed"})
    assert body["checks"][2]["reason"] == "no worker heartbeat in the last 60 s"
