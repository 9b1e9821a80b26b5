"""Endpoints that write rows for callers nobody knows yet are capped per address and for everyone: over the cap,
429 and no new row (challenges, card pages and their sessions, passkey ceremonies)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.sessions.models import Session
from django.db.models import Model
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.common import anonymous_rows
from anchorid.idp.deviceca.models import WalletChallenge
from anchorid.idp.onboarding.models import OnboardingChallenge
from anchorid.idp.passkeys.models import WebAuthnChallenge
from anchorid.idp.passkeys.views import PASSKEY_OPTIONS_PER_ADDRESS

from .idp_helpers import ORIGIN

pytestmark = pytest.mark.django_db
CAP = anonymous_rows.PER_ADDRESS_ATTEMPTS


@pytest.fixture(autouse=True)
def _idp(settings: Settings) -> None:
    settings.ANCHORID_IDP_ORIGIN = ORIGIN


def _wallet_challenge(path: str) -> Callable[[Client], int]:
    return lambda client: client.post(path, "{}", content_type="application/json").status_code


def _card_page(path: str) -> Callable[[Client], int]:
    return lambda client: client.get(path).status_code


def _passkey_options(client: Client) -> int:
    return client.post("/login/passkey/options/").status_code


ENDPOINTS = [
    pytest.param(_wallet_challenge("/wallet/challenge"), WalletChallenge, CAP, id="wallet-challenge"),
    pytest.param(_wallet_challenge("/login/wallet/challenge"), WalletChallenge, CAP, id="login-wallet-challenge"),
    pytest.param(_card_page("/login/card/"), OnboardingChallenge, CAP, id="login-card"),
    pytest.param(_card_page("/stop/card/"), OnboardingChallenge, CAP, id="stop-card"),
    pytest.param(_card_page("/resume/card/"), OnboardingChallenge, CAP, id="resume-card"),
    pytest.param(_passkey_options, WebAuthnChallenge, PASSKEY_OPTIONS_PER_ADDRESS, id="passkey-options"),
]


@pytest.mark.parametrize(("call", "model", "cap"), ENDPOINTS)
def test_it_caps_anonymous_rows_from_one_address(call: Callable[[Client], int], model: type[Model], cap: int) -> None:
    for _ in range(cap):
        assert call(Client(REMOTE_ADDR="192.0.2.44")) == 200
    rows, sessions = model._default_manager.count(), Session.objects.count()
    assert rows == cap
    for _ in range(5):
        assert call(Client(REMOTE_ADDR="192.0.2.44")) == 429
    assert model._default_manager.count() == rows  # nothing written when refused
    assert Session.objects.count() == sessions
    assert call(Client(REMOTE_ADDR="192.0.2.45")) == 200  # another address is not capped


def test_it_counts_an_ipv6_address_by_its_64_prefix(settings: Settings) -> None:
    settings.ANCHORID_RATE_LIMITS = {"wallet-challenge-ip": [3, 600]}
    call = _wallet_challenge("/wallet/challenge")
    for host in range(1, 4):
        assert call(Client(REMOTE_ADDR=f"2001:db8:1:2::{host}")) == 200
    assert call(Client(REMOTE_ADDR="2001:db8:1:2:ffff::9")) == 429  # same /64, new address: same budget
    assert call(Client(REMOTE_ADDR="2001:db8:1:3::1")) == 200


def test_it_caps_rows_from_everyone_together(settings: Settings) -> None:
    settings.ANCHORID_RATE_LIMITS = {"card-challenge-all": [5, 600]}
    call = _card_page("/login/card/")
    for host in range(5):
        assert call(Client(REMOTE_ADDR=f"198.51.100.{host + 1}")) == 200
    assert call(Client(REMOTE_ADDR="203.0.113.1")) == 429
    assert OnboardingChallenge.objects.count() == 5


def test_it_says_how_long_to_wait_in_japanese_first() -> None:
    for _ in range(CAP):
        Client(REMOTE_ADDR="192.0.2.46").get("/login/card/")
    response = Client(REMOTE_ADDR="192.0.2.46").get("/login/card/")
    assert response.status_code == 429
    assert "分待って" in response.content.decode()
    assert int(response["Retry-After"]) > 0
