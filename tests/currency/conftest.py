"""Currency tests (``--ds=anchorid.currency.settings``). Pages are exercised with a member logged in by setting the
session as the login would (the real login with AnchorID is walked in tests/interop's browser test)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from anchorid.currency import service
from anchorid.currency.login import LOGIN_KEY
from anchorid.currency.models import Member

RESIDENT = {"resident_of": "142042"}
VISITOR = {"resident_of": "131016"}


def log_in(client: Client, sub: str, claims: dict[str, Any]) -> Member:
    member = service.join(sub, claims)
    session = client.session
    session[LOGIN_KEY] = {"sub": sub, "claims": claims, "id_token": "unused"}
    session.save()
    return member


@pytest.fixture
def resident_client(db: None) -> tuple[Client, Member]:
    client = Client()
    return client, log_in(client, "resident-sub", RESIDENT)
