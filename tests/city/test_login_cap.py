"""Logins strangers start at the city (a session row here, a pushed request at the idp) are capped per address:
over the cap, 429 and the login is not started."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from anchorid.common import anonymous_rows
from anchorid.common.rp.client import AnchorIDClient, LoginError

pytestmark = pytest.mark.django_db


def test_it_caps_logins_started_from_one_address(rp: AnchorIDClient, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []

    def idp_down(**extra: str) -> None:  # each started login would push its request to the idp
        started.append(1)
        raise LoginError("temporarily_unavailable", "the provider could not be reached")

    monkeypatch.setattr(rp, "start_login", idp_down)
    for _ in range(anonymous_rows.PER_ADDRESS_ATTEMPTS):
        assert Client(REMOTE_ADDR="192.0.2.60").post("/login/").status_code == 302
    sessions = Session.objects.count()
    refused = Client(REMOTE_ADDR="192.0.2.60").post("/login/")
    assert refused.status_code == 429
    assert "分待って" in refused.content.decode()
    assert len(started) == anonymous_rows.PER_ADDRESS_ATTEMPTS  # the refused one started nothing
    assert Session.objects.count() == sessions
    assert Client(REMOTE_ADDR="192.0.2.61").post("/login/").status_code == 302
