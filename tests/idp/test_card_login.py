"""Card login, step-up, the card-only emergency stop and resumption: real jlis process, real card helper."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Authentication, Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.sessions import SESSION_ACR

from .idp_helpers import login_client
from .onboarding_support import ADULT_PLAIN, IDP_ORIGIN, Helper, Jlis, onboard

pytestmark = pytest.mark.django_db

PASSKEY_LOGIN = Authentication(Level.DERIVED, (Method.PASSKEY, Method.USER_VERIFICATION))


def _use_card(client: Client, helper: Helper, page: str, *, next_url: str = "") -> Any:
    response = client.get(page + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 200
    assert "connect-src 'self' http://127.0.0.1:" in response["Content-Security-Policy"]
    challenge = response.context["challenge"]
    signed = helper.sign(challenge)
    assert signed.status_code == 200, signed.text
    body = json.dumps({"challenge": challenge, **signed.json()})
    complete = page + "complete/" + (f"?next={next_url}" if next_url else "")
    return client.post(complete, body, content_type="application/json")


@pytest.fixture
def helper(idp: Jlis, card_helper: Callable[..., Helper]) -> Helper:
    card = idp.adult(ADULT_PLAIN)
    return card_helper(card["card_file"], card["signature_pin"])


@pytest.fixture
def account(helper: Helper) -> Account:
    assert onboard(Client(), helper).status_code == 201
    return Account.objects.get()


def test_it_logs_in_with_the_card(client: Client, account: Account, helper: Helper) -> None:
    response = _use_card(client, helper, "/login/card/", next_url="/me/activity/")
    assert response.json() == {"ok": True, "redirect": "/me/activity/"}
    assert client.session[SESSION_ACR] == Level.CARD.acr
    login = AuditEntry.objects.filter(event_type="login").last()
    assert login is not None
    assert login.details["method"] == "card"


def test_it_raises_a_passkey_session_to_card_level(client: Client, account: Account, helper: Helper) -> None:
    login_client(client, account, PASSKEY_LOGIN)
    assert client.get("/me/delete/").context["current"].level is Level.DERIVED
    _use_card(client, helper, "/login/card/", next_url="/me/delete/")
    assert client.get("/me/delete/").context["current"].level is Level.CARD
    assert AuditEntry.objects.filter(event_type="login").last().details["step_up"] is True  # type: ignore[union-attr]


def test_it_refuses_a_card_that_is_not_registered(client: Client, helper: Helper) -> None:
    response = _use_card(client, helper, "/login/card/")
    assert (response.status_code, response.json()["error"]) == (404, "card_not_registered")
    assert SESSION_ACR not in client.session


def test_it_refuses_a_replayed_card_signature(client: Client, account: Account, helper: Helper) -> None:
    challenge = client.get("/login/card/").context["challenge"]
    body = json.dumps({"challenge": challenge, **helper.sign(challenge).json()})
    assert client.post("/login/card/complete/", body, content_type="application/json").status_code == 200
    replay = client.post("/login/card/complete/", body, content_type="application/json")
    assert (replay.status_code, replay.json()["error"]) == (409, "challenge_replayed")


def test_it_refuses_a_signature_from_another_browser(account: Account, helper: Helper) -> None:
    challenge = Client().get("/login/card/").context["challenge"]
    body = json.dumps({"challenge": challenge, **helper.sign(challenge).json()})
    thief = Client()
    response = thief.post("/login/card/complete/", body, content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (403, "challenge_other_session")
    assert SESSION_ACR not in thief.session


def test_it_stops_the_account_with_the_card_alone_and_resumes_only_with_it(
    client: Client, account: Account, helper: Helper
) -> None:
    response = _use_card(client, helper, "/stop/card/")
    assert response.json()["redirect"] == "/stop/"
    account.refresh_from_db()
    assert account.status == Account.Status.SUSPENDED
    stop = AuditEntry.objects.get(event_type="suspension")
    assert stop.details["channel"] == "card"
    refused = _use_card(client, helper, "/login/card/")
    assert (refused.status_code, refused.json()["error"]) == (403, "account_suspended")
    resumed = _use_card(client, helper, "/resume/card/")
    assert resumed.json().get("redirect") == "/me/", resumed.json()
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert client.session[SESSION_ACR] == Level.CARD.acr
    assert AuditEntry.objects.get(event_type="resumption").details == {"scope": "account", "method": "card"}


@pytest.mark.parametrize(
    ("page", "japanese", "english"),
    [
        ("/login/card/", "このカードでログイン", "asks you to LOG IN with this card"),
        ("/stop/card/", "緊急停止", "asks you to STOP your account in an emergency"),
        ("/resume/card/", "停止中のアカウントをこのカードで再開", "asks you to RESUME your stopped account"),
    ],
)
def test_it_the_helper_names_the_action_it_signs_for(
    client: Client, account: Account, helper: Helper, page: str, japanese: str, english: str
) -> None:
    helper.prompts.clear()
    challenge = client.get(page).context["challenge"]
    assert helper.sign(challenge).status_code == 200
    (prompt,) = helper.prompts
    first, second = prompt.splitlines()
    assert japanese in first  # Japanese first
    assert english in second
    assert IDP_ORIGIN in first
    assert "登録" not in prompt
    assert "REGISTER" not in prompt.upper()


def test_it_the_helper_names_registering_for_onboarding(idp: Jlis, card_helper: Callable[..., Helper]) -> None:
    card = idp.adult(ADULT_PLAIN)
    helper = card_helper(card["card_file"], card["signature_pin"])
    assert onboard(Client(), helper).status_code == 201
    (prompt,) = helper.prompts
    first, second = prompt.splitlines()
    assert "AnchorID に登録" in first
    assert "asks you to REGISTER with AnchorID" in second


def test_it_refuses_a_login_signature_at_the_stop_endpoint(client: Client, account: Account, helper: Helper) -> None:
    """What the resident agreed to ("log in") is what the signature can do: it cannot stop the account."""
    challenge = client.get("/login/card/").context["challenge"]
    body = json.dumps({"challenge": challenge, **helper.sign(challenge).json()})
    client.get("/stop/card/")  # the stop page opens its own challenge in this session
    response = client.post("/stop/card/complete/", body, content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "malformed_request")
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert not AuditEntry.objects.filter(event_type="suspension").exists()
