"""Sensitive actions need a fresh login at their level, judged by ``auth_time``: a card session from onboarding,
14 days old, is sent to log in again (and back) before it deletes the account, resumes or revokes a credential,
consents to automatic refresh, or signs; a fresh one proceeds."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN
from anchorid.idp.passkeys.models import Passkey
from anchorid.idp.sessions import FRESH, SESSION_AUTH_TIME
from anchorid.jpki.attributes import BasicFourInfo, Gender

from .idp_helpers import ORIGIN, login_client, register_passkey

pytestmark = pytest.mark.django_db
INFO = BasicFourInfo.plain("鎌倉　花子", datetime.date(1990, 4, 1), Gender.FEMALE, "神奈川県鎌倉市御成町１８番１０号")
FOURTEEN_DAYS = datetime.timedelta(days=14)


@pytest.fixture(autouse=True)
def _idp(settings: Settings) -> None:
    settings.ANCHORID_IDP_ORIGIN = ORIGIN


@pytest.fixture
def account() -> Account:
    account = Account.objects.create_user("resident-1")
    account.set_attributes(INFO, verified_how="jpki-signature-certificate")
    account.save()
    return account


def card_session(account: Account, age: datetime.timedelta) -> Client:
    """A card-level session (as onboarding leaves) whose login was ``age`` ago."""
    client = Client()
    login_client(client, account, CARD_LOGIN)
    session = client.session
    session[SESSION_AUTH_TIME] = int((timezone.now() - age).timestamp())
    session.save()
    return client


def _passkey(account: Account) -> Passkey:
    register_passkey(card_session(account, datetime.timedelta(0)))
    return Passkey.objects.get(account=account)


def test_it_sends_an_old_card_session_to_log_in_again_before_deleting_the_account(account: Account) -> None:
    stale = card_session(account, FOURTEEN_DAYS)
    referer = {"Referer": "http://testserver/me/delete/"}
    response = stale.post("/me/delete/confirm/", {"confirm": "yes"}, headers=referer)
    assert response.status_code == 302
    assert response["Location"] == "/login/card/?next=%2Fme%2Fdelete%2F"  # and back to the delete page
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    fresh = card_session(account, datetime.timedelta(minutes=1))
    fresh.post("/me/delete/confirm/", {"confirm": "yes"}, headers=referer)
    account.refresh_from_db()
    assert account.status == Account.Status.DELETED


def test_it_sends_an_old_card_session_to_log_in_again_before_resuming_a_credential(account: Account) -> None:
    passkey = _passkey(account)
    Passkey.objects.update(suspended_at=timezone.now())
    response = card_session(account, FOURTEEN_DAYS).post(f"/me/credentials/passkey/{passkey.pk}/resume/")
    assert response["Location"].startswith("/login/card/")
    assert Passkey.objects.get().suspended_at is not None
    card_session(account, datetime.timedelta(0)).post(f"/me/credentials/passkey/{passkey.pk}/resume/")
    assert Passkey.objects.get().suspended_at is None


def test_it_sends_an_old_session_to_log_in_again_before_revoking_a_credential(account: Account) -> None:
    passkey = _passkey(account)
    response = card_session(account, FOURTEEN_DAYS).post(f"/me/credentials/passkey/{passkey.pk}/revoke/")
    assert response["Location"].startswith("/login/")
    assert Passkey.objects.get().revoked_at is None
    card_session(account, datetime.timedelta(0)).post(f"/me/credentials/passkey/{passkey.pk}/revoke/")
    assert Passkey.objects.get().revoked_at is not None


def test_it_sends_an_old_session_to_log_in_again_before_consenting_to_refresh(account: Account) -> None:
    stale = card_session(account, FOURTEEN_DAYS)
    page = stale.get("/me/refresh-consent/")
    assert page.status_code == 302
    assert page["Location"] == "/login/?next=%2Fme%2Frefresh-consent%2F"
    answer = stale.post("/me/refresh-consent/complete/", b"{}", content_type="application/json")
    assert answer.status_code == 401
    assert answer.json()["error"] == "login_required"
    fresh = card_session(account, datetime.timedelta(0))
    assert fresh.get("/me/refresh-consent/").status_code == 200
    assert fresh.post("/me/refresh-consent/complete/", b"{}", content_type="application/json").status_code == 400


def test_it_sends_an_old_session_to_log_in_again_before_signing(account: Account) -> None:
    stale = card_session(account, FOURTEEN_DAYS)
    page = stale.get("/me/sign/")
    assert page.status_code == 302
    assert page["Location"] == "/login/?next=%2Fme%2Fsign%2F"
    prepared: Any = stale.post("/me/sign/prepare/")
    assert prepared.status_code == 401
    assert prepared.json()["login_url"] == "/login/"
    fresh = card_session(account, datetime.timedelta(0))
    assert fresh.get("/me/sign/").status_code == 200
    assert fresh.post("/me/sign/prepare/").json()["error"] == "no_file"  # past the guard, to the upload check


def test_it_sends_an_old_card_session_to_log_in_again_before_adding_a_passkey(account: Account) -> None:
    stale = card_session(account, FOURTEEN_DAYS)
    page = stale.get("/passkeys/register/")
    assert page["Location"] == "/login/card/?next=%2Fpasskeys%2Fregister%2F"
    assert stale.post("/passkeys/register/options/").status_code == 401
    register_passkey(card_session(account, datetime.timedelta(0)))  # a fresh one registers
    assert Passkey.objects.filter(account=account).count() == 1


def test_it_accepts_a_login_just_inside_the_fresh_window(account: Account) -> None:
    client = card_session(account, FRESH - datetime.timedelta(seconds=30))
    assert client.get("/me/sign/").status_code == 200


def test_it_says_why_in_japanese_first(account: Account) -> None:
    response = card_session(account, FOURTEEN_DAYS).get("/me/sign/", follow=True)
    assert "もう一度ログインしてください" in response.content.decode()
