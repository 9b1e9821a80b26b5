"""Sign-ups strangers start at a provider (a session row here, a pushed request at the idp) are capped per
address: over the cap, 429 and the sign-up is not started."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from anchorid.common import anonymous_rows
from anchorid.common.rp.client import LoginError
from anchorid.providersim import customers

pytestmark = pytest.mark.django_db


def test_it_caps_sign_ups_started_from_one_address(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []

    def idp_down(**extra: str) -> None:  # each started sign-up would push its request to the idp
        started.append(1)
        raise LoginError("temporarily_unavailable", "the provider could not be reached")

    monkeypatch.setattr(customers, "client", lambda slug: SimpleNamespace(start_login=idp_down))
    for _ in range(anonymous_rows.PER_ADDRESS_ATTEMPTS):
        assert Client(REMOTE_ADDR="192.0.2.70").post("/electricity/signup/").status_code == 302
    sessions = Session.objects.count()
    refused = Client(REMOTE_ADDR="192.0.2.70").post("/electricity/signup/")
    assert refused.status_code == 429
    assert len(started) == anonymous_rows.PER_ADDRESS_ATTEMPTS  # the refused one started nothing
    assert Session.objects.count() == sessions
    assert Client(REMOTE_ADDR="192.0.2.71").post("/electricity/signup/").status_code == 302
