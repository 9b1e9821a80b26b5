from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN, Authentication, Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.sessions import (
    LOGIN_BACKEND,
    AccountNotUsable,
    current_authentication,
    log_in,
    register_credential_check,
    requires_level,
)

pytestmark = pytest.mark.django_db

PASSKEY_LOGIN = Authentication(Level.DERIVED, (Method.PASSKEY, Method.USER_VERIFICATION))


def _request() -> HttpRequest:
    request = RequestFactory().get("/me/?tab=1")
    request.session = SessionStore()
    request.session.create()
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    return request


@pytest.fixture
def account() -> Account:
    return Account.objects.create_user("resident-1")


def test_it_stores_acr_amr_and_auth_time_and_rotates_the_session_key(account: Account) -> None:
    request = _request()
    before = request.session.session_key
    log_in(request, account, PASSKEY_LOGIN, credential="")
    assert request.session.session_key != before
    current = current_authentication(request)
    assert current is not None
    assert current.level is Level.DERIVED
    assert current.authentication.amr == ["hwk", "user"]
    entry = AuditEntry.objects.get(event_type="login")
    assert entry.subject == str(account.pk)
    assert entry.details == {"method": "passkey", "acr": Level.DERIVED.acr, "outcome": "success", "step_up": False}


def test_it_refuses_a_suspended_account(account: Account) -> None:
    account.status = Account.Status.SUSPENDED
    account.save()
    with pytest.raises(AccountNotUsable):
        log_in(_request(), account, CARD_LOGIN)
    assert not AuditEntry.objects.exists()


def test_it_forgets_the_login_once_the_account_is_suspended(account: Account) -> None:
    request = _request()
    log_in(request, account, CARD_LOGIN)
    Account.objects.filter(pk=account.pk).update(status=Account.Status.SUSPENDED)
    assert current_authentication(request) is None


def test_it_forgets_the_login_once_its_credential_is_unusable(account: Account) -> None:
    usable = {"k1": True}
    register_credential_check("testkind", lambda _account, cid: usable.get(cid, False))
    request = _request()
    log_in(request, account, PASSKEY_LOGIN, credential="testkind:k1")
    assert current_authentication(request) is not None
    usable["k1"] = False
    assert current_authentication(request) is None


def test_it_records_a_step_up(account: Account) -> None:
    request = _request()
    log_in(request, account, PASSKEY_LOGIN)
    log_in(request, account, CARD_LOGIN)
    current = current_authentication(request)
    assert current is not None
    assert current.level is Level.CARD
    assert AuditEntry.objects.order_by("seq").last().details["step_up"] is True  # type: ignore[union-attr]


def test_it_sends_a_low_level_session_to_card_login() -> None:
    @requires_level(Level.CARD)
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    account = Account.objects.create_user("resident-2")
    request = _request()
    log_in(request, account, PASSKEY_LOGIN)
    response = view(request)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/card/?next=")
    log_in(request, account, CARD_LOGIN)
    assert view(request).content == b"ok"


def test_it_reads_a_residents_session_back_with_the_session_backend(account: Account) -> None:
    from django.contrib.auth import get_user

    request = _request()
    log_in(request, account, PASSKEY_LOGIN, credential="")
    assert request.session["_auth_user_backend"] == LOGIN_BACKEND
    request.user = get_user(request)
    assert request.user.pk == account.pk
    current = current_authentication(request)
    assert current is not None
    assert current.account.pk == account.pk


def test_it_keeps_sessions_opened_with_django_s_model_backend_valid(account: Account) -> None:
    from django.contrib.auth import get_user
    from django.contrib.auth import login as django_login

    request = _request()
    django_login(request, account, backend="django.contrib.auth.backends.ModelBackend")
    assert get_user(request).pk == account.pk


def test_it_reads_no_user_for_a_deleted_or_unknown_account(account: Account) -> None:
    from anchorid.idp.accounts.session_backend import SessionAccountBackend

    backend = SessionAccountBackend()
    assert backend.get_user(str(account.pk)) == account
    assert backend.get_user("not-a-uuid") is None
    assert backend.get_user("00000000-0000-0000-0000-000000000000") is None
    account.status = Account.Status.DELETED
    account.save()
    assert backend.get_user(str(account.pk)) is None
