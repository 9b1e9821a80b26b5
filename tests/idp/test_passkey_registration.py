from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN, Authentication, Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.passkeys.models import Passkey

from .idp_helpers import ORIGIN, RP_ID, login_client, register_passkey
from .webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

PASSKEY_LOGIN = Authentication(Level.DERIVED, (Method.PASSKEY, Method.USER_VERIFICATION))


@pytest.fixture(autouse=True)
def _idp(settings: Settings) -> None:
    settings.ANCHORID_IDP_ORIGIN = ORIGIN
    cache.clear()


@pytest.fixture
def account() -> Account:
    return Account.objects.create_user("resident-1")


@pytest.fixture
def card_client(client: Client, account: Account) -> Client:
    login_client(client, account, CARD_LOGIN)
    return client


def _finish(client: Client, body: str) -> tuple[int, dict[str, str]]:
    response = client.post("/passkeys/register/finish/", body, content_type="application/json")
    return response.status_code, response.json()


def test_it_registers_a_discoverable_passkey_with_user_verification(card_client: Client, account: Account) -> None:
    options = card_client.post("/passkeys/register/options/").json()
    assert options["rp"]["id"] == RP_ID
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)
    assert _finish(card_client, authenticator.create(options))[0] == 200
    passkey = Passkey.objects.get(account=account)
    assert passkey.assurance is Level.DERIVED
    assert passkey.transports == ["internal"]
    assert AuditEntry.objects.filter(event_type="credential_issued", subject=str(account.pk)).count() == 1


def test_it_keeps_the_name_the_resident_gave(card_client: Client, account: Account) -> None:
    register_passkey(card_client, name="%E7%A7%81%E3%81%AE%E3%82%B9%E3%83%9E%E3%83%9B")
    assert Passkey.objects.get(account=account).name == "私のスマホ"


def test_it_sends_a_passkey_session_to_card_login_first(client: Client, account: Account) -> None:
    login_client(client, account, PASSKEY_LOGIN)
    response = client.get("/passkeys/register/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/card/")


def test_it_refuses_registration_without_login(client: Client) -> None:
    assert client.post("/passkeys/register/options/").status_code == 302
    assert not Passkey.objects.exists()


def test_it_refuses_a_replayed_registration(card_client: Client) -> None:
    options = card_client.post("/passkeys/register/options/").json()
    body = SoftAuthenticator(ORIGIN, RP_ID).create(options)
    assert _finish(card_client, body)[0] == 200
    status, answer = _finish(card_client, body)
    assert status == 400
    assert answer["error"] == "no_challenge"
    assert Passkey.objects.count() == 1


def test_it_refuses_another_origin(card_client: Client) -> None:
    options = card_client.post("/passkeys/register/options/").json()
    status, answer = _finish(card_client, SoftAuthenticator(ORIGIN, RP_ID).create(options, origin="https://evil.test"))
    assert (status, answer["error"]) == (400, "wrong_origin")
    assert not Passkey.objects.exists()


def test_it_refuses_a_passkey_without_user_verification(card_client: Client) -> None:
    options = card_client.post("/passkeys/register/options/").json()
    status, answer = _finish(card_client, SoftAuthenticator(ORIGIN, RP_ID).create(options, uv=False))
    assert (status, answer["error"]) == (400, "user_verification_missing")
    assert not Passkey.objects.exists()


def test_it_refuses_a_challenge_of_another_request(card_client: Client) -> None:
    options = card_client.post("/passkeys/register/options/").json()
    card_client.post("/passkeys/register/options/")  # a second tab replaced the session's challenge
    status, answer = _finish(card_client, SoftAuthenticator(ORIGIN, RP_ID).create(options))
    assert (status, answer["error"]) == (400, "wrong_challenge")
    assert not Passkey.objects.exists()


def test_it_handles_bad_json(card_client: Client) -> None:
    card_client.post("/passkeys/register/options/")
    status, answer = _finish(card_client, "{not json")
    assert (status, answer["error"]) == (400, "malformed")
    assert not Passkey.objects.exists()


def test_it_refuses_the_same_authenticator_twice(card_client: Client) -> None:
    authenticator = register_passkey(card_client)
    options = card_client.post("/passkeys/register/options/").json()
    assert options["excludeCredentials"][0]["id"] == json.loads(authenticator.create(options))["id"]
    status, answer = _finish(card_client, authenticator.create(options))
    assert (status, answer["error"]) == (400, "already_registered")
    assert Passkey.objects.count() == 1
