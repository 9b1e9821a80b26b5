from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN, Level
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.passkeys.models import Passkey

from .idp_helpers import ORIGIN, login_client, passkey_login, register_passkey
from .webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _idp(settings: Settings) -> None:
    settings.ANCHORID_IDP_ORIGIN = ORIGIN
    cache.clear()


@pytest.fixture
def account() -> Account:
    return Account.objects.create_user("resident-1")


@pytest.fixture
def authenticator(account: Account) -> SoftAuthenticator:
    registering = Client()
    login_client(registering, account, CARD_LOGIN)
    return register_passkey(registering)


def test_it_logs_in_with_the_passkey_alone(client: Client, account: Account, authenticator: SoftAuthenticator) -> None:
    options = client.post("/login/passkey/options/").json()
    assert options["userVerification"] == "required"
    assert options["allowCredentials"] == []  # discoverable: no user name asked
    response = client.post("/login/passkey/finish/", authenticator.get(options), content_type="application/json")
    assert response.json() == {"ok": True, "redirect": "/me/"}
    assert client.session["anchorid.acr"] == Level.DERIVED.acr
    assert client.session["anchorid.amr"] == ["hwk", "user"]
    assert client.get("/me/").status_code == 200
    passkey = Passkey.objects.get(account=account)
    assert passkey.sign_count == 1
    assert passkey.last_used_at is not None


def test_it_goes_back_to_next_on_this_site_only(client: Client, authenticator: SoftAuthenticator) -> None:
    options = client.post("/login/passkey/options/").json()
    body = authenticator.get(options)
    response = client.post("/login/passkey/finish/?next=https://evil.test/", body, content_type="application/json")
    assert response.json()["redirect"] == "/me/"


def test_it_refuses_a_replayed_assertion(client: Client, authenticator: SoftAuthenticator) -> None:
    options = client.post("/login/passkey/options/").json()
    body = authenticator.get(options)
    assert client.post("/login/passkey/finish/", body, content_type="application/json").status_code == 200
    client.post("/logout/")
    response = client.post("/login/passkey/finish/", body, content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "no_challenge")


def test_it_refuses_a_challenge_from_another_session(client: Client, authenticator: SoftAuthenticator) -> None:
    options = Client().post("/login/passkey/options/").json()  # someone else's browser
    client.post("/login/passkey/options/")
    response = client.post("/login/passkey/finish/", authenticator.get(options), content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "wrong_challenge")
    assert "_auth_user_id" not in client.session


def test_it_refuses_an_expired_challenge(client: Client, authenticator: SoftAuthenticator) -> None:
    from anchorid.idp.passkeys.models import WebAuthnChallenge

    options = client.post("/login/passkey/options/").json()
    WebAuthnChallenge.objects.update(expires_at=timezone.now())
    response = client.post("/login/passkey/finish/", authenticator.get(options), content_type="application/json")
    assert response.json()["error"] == "challenge_used_or_expired"


def test_it_refuses_another_origin(client: Client, authenticator: SoftAuthenticator) -> None:
    status, answer = passkey_login(client, authenticator, origin="https://evil.test")
    assert (status, answer["error"]) == (400, "wrong_origin")


def test_it_requires_user_verification(client: Client, account: Account, authenticator: SoftAuthenticator) -> None:
    status, answer = passkey_login(client, authenticator, uv=False)
    assert (status, answer["error"]) == (400, "user_verification_missing")
    failure = AuditEntry.objects.filter(event_type="login", subject=str(account.pk)).last()
    assert failure is not None
    assert failure.details == {"method": "passkey", "outcome": "failure"}


def test_it_refuses_an_unknown_passkey(client: Client) -> None:
    status, answer = passkey_login(client, SoftAuthenticator(ORIGIN, "id.anchorid.test"))
    assert (status, answer["error"]) == (400, "unknown_credential")


def test_it_refuses_a_revoked_passkey(client: Client, account: Account, authenticator: SoftAuthenticator) -> None:
    Passkey.objects.update(revoked_at=timezone.now())
    status, answer = passkey_login(client, authenticator)
    assert (status, answer["error"]) == (400, "revoked")


def test_it_refuses_a_suspended_passkey(client: Client, authenticator: SoftAuthenticator) -> None:
    Passkey.objects.update(suspended_at=timezone.now())
    status, answer = passkey_login(client, authenticator)
    assert (status, answer["error"]) == (400, "suspended")


def test_it_refuses_a_suspended_account(client: Client, account: Account, authenticator: SoftAuthenticator) -> None:
    Account.objects.filter(pk=account.pk).update(status=Account.Status.SUSPENDED)
    status, answer = passkey_login(client, authenticator)
    assert (status, answer["error"]) == (400, "account_not_active")
    assert "_auth_user_id" not in client.session


def test_it_revokes_a_passkey_whose_counter_goes_backwards(
    client: Client, account: Account, authenticator: SoftAuthenticator
) -> None:
    assert passkey_login(client, authenticator, counter_step=5)[0] == 200
    status, answer = passkey_login(Client(), authenticator, counter_step=-2)  # a clone with an older counter
    assert (status, answer["error"]) == (400, "clone_suspected")
    passkey = Passkey.objects.get(account=account)
    assert passkey.revoked_reason == "sign_count_regression"
    assert client.get("/me/").status_code == 302  # the session the passkey opened has ended too


def test_it_refuses_a_tampered_signature(client: Client, authenticator: SoftAuthenticator) -> None:
    other = SoftAuthenticator(ORIGIN, "id.anchorid.test", credential_id=authenticator.credential_id)
    other.user_handle = authenticator.user_handle
    status, answer = passkey_login(client, other)
    assert (status, answer["error"]) == (400, "invalid_response")


def test_it_handles_bad_json(client: Client) -> None:
    client.post("/login/passkey/options/")
    response = client.post("/login/passkey/finish/", "[]", content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "malformed")


def test_it_revokes_a_passkey_whose_counter_stands_still(
    client: Client, account: Account, authenticator: SoftAuthenticator
) -> None:
    assert passkey_login(client, authenticator, counter_step=3)[0] == 200
    status, answer = passkey_login(Client(), authenticator, counter_step=0)  # the same count again: a clone
    assert (status, answer["error"]) == (400, "clone_suspected")
    assert Passkey.objects.get(account=account).revoked_reason == "sign_count_regression"


def test_it_accepts_an_authenticator_without_a_counter(
    client: Client, account: Account, authenticator: SoftAuthenticator
) -> None:
    Passkey.objects.filter(account=account).update(sign_count=0)
    authenticator.sign_count = 0
    for _ in range(2):  # 0 after 0, twice: no counter is no regression (§7.2 step 22)
        assert passkey_login(Client(), authenticator, counter_step=0)[0] == 200
    passkey = Passkey.objects.get(account=account)
    assert (passkey.sign_count, passkey.revoked_at) == (0, None)


#: SQL statements of one login from a browser not logged in (issue #13; 37 before it): options = two anonymous-row
#: cap counters, the challenge row, the new session (a savepoint pair here, in the test's transaction); finish = the
#: per-address and per-account counters, the session read, the challenge used up (one conditional UPDATE), the
#: passkey with its account, the sign count advanced (one conditional UPDATE), the anchor's state (lifecycle check),
#: the audit entry and its head in one transaction with the old session's DELETE and last_login, the new session.
OPTIONS_STATEMENTS = 6
FINISH_STATEMENTS = 19


def test_it_logs_in_within_a_pinned_number_of_sql_statements(
    client: Client, account: Account, authenticator: SoftAuthenticator, django_assert_max_num_queries: Any
) -> None:
    client.get("/login/passkey/")
    for number in (1, 2):  # the second login pays no first-time costs (the audit head exists)
        client.cookies.pop("sessionid", None)  # a browser that is not logged in
        with django_assert_max_num_queries(OPTIONS_STATEMENTS):
            options = client.post("/login/passkey/options/").json()
        with django_assert_max_num_queries(FINISH_STATEMENTS):
            body = authenticator.get(options)
            response = client.post("/login/passkey/finish/", body, content_type="application/json")
        assert response.json()["ok"] is True
        assert Passkey.objects.get(account=account).sign_count == number
