from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.idp import ratelimit
from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN
from anchorid.idp.login.limits import LOGIN_PER_ACCOUNT, LOGIN_PER_IP

from .idp_helpers import ORIGIN, login_client, passkey_login, register_passkey
from .webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _idp(settings: Settings) -> None:
    settings.ANCHORID_IDP_ORIGIN = ORIGIN
    cache.clear()


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    registering = Client()
    login_client(registering, Account.objects.create_user("resident-1"), CARD_LOGIN)
    return register_passkey(registering)


def test_it_limits_login_attempts_per_ip_with_a_clear_message(authenticator: SoftAuthenticator) -> None:
    stranger = SoftAuthenticator(ORIGIN, "id.anchorid.test")
    for _ in range(LOGIN_PER_IP.attempts):
        passkey_login(Client(), stranger)
    status, answer = passkey_login(Client(), authenticator)  # even the right passkey waits now
    assert status == 429
    assert answer["error"] == "rate_limited"
    assert "分" in answer["message"]  # "… N 分後に …": how long to wait


def test_it_limits_login_attempts_per_account(authenticator: SoftAuthenticator) -> None:
    for attempt in range(LOGIN_PER_ACCOUNT.attempts):
        client = Client(REMOTE_ADDR=f"10.0.{attempt}.1")  # from many addresses
        assert passkey_login(client, authenticator, uv=False)[0] == 400
    status, answer = passkey_login(Client(REMOTE_ADDR="10.9.9.9"), authenticator)
    assert (status, answer["error"]) == (429, "rate_limited")


def test_it_does_not_limit_other_accounts(authenticator: SoftAuthenticator) -> None:
    for attempt in range(LOGIN_PER_ACCOUNT.attempts + 1):
        passkey_login(Client(REMOTE_ADDR=f"10.1.{attempt}.1"), authenticator, uv=False)
    registering = Client()
    login_client(registering, Account.objects.create_user("resident-2"), CARD_LOGIN)
    other = register_passkey(registering)
    assert passkey_login(Client(REMOTE_ADDR="10.2.0.1"), other)[0] == 200


def test_it_applies_a_configured_limit_by_name(settings: Settings) -> None:
    settings.ANCHORID_RATE_LIMITS = {LOGIN_PER_IP.name: [2, 600]}
    ratelimit.hit(LOGIN_PER_IP, "192.0.2.7", now=1000.0)
    ratelimit.hit(LOGIN_PER_IP, "192.0.2.7", now=1000.0)
    with pytest.raises(ratelimit.RateLimited) as limited:
        ratelimit.hit(LOGIN_PER_IP, "192.0.2.7", now=1000.0)
    assert limited.value.limit.attempts == 2
