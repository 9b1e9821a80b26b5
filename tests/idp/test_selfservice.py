from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN, Authentication, Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.passkeys.models import Passkey
from anchorid.jpki.attributes import BasicFourInfo, Gender

from .idp_helpers import ORIGIN, login_client, passkey_login, register_passkey
from .webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

PASSKEY_LOGIN = Authentication(Level.DERIVED, (Method.PASSKEY, Method.USER_VERIFICATION))
INFO = BasicFourInfo.plain("鎌倉　花子", datetime.date(1990, 4, 1), Gender.FEMALE, "神奈川県鎌倉市御成町１８番１０号")


@pytest.fixture(autouse=True)
def _idp(settings: Settings) -> None:
    settings.ANCHORID_IDP_ORIGIN = ORIGIN
    cache.clear()


@pytest.fixture
def account() -> Account:
    account = Account.objects.create_user("resident-1")
    account.set_attributes(INFO, verified_how="jpki-signature-certificate")
    account.save()
    return account


@pytest.fixture
def authenticator(account: Account) -> SoftAuthenticator:
    registering = Client()
    login_client(registering, account, CARD_LOGIN)
    return register_passkey(registering)


@pytest.fixture
def resident(client: Client, authenticator: SoftAuthenticator) -> Client:
    """A client logged in with the passkey (Level.DERIVED), through the real login endpoints."""
    assert passkey_login(client, authenticator)[0] == 200
    return client


def _passkey() -> Passkey:
    return Passkey.objects.get()


def test_it_shows_my_attributes_credentials_and_activity_in_japanese(resident: Client) -> None:
    page = resident.get("/me/").content.decode()
    assert "鎌倉　花子" in page
    assert "神奈川県鎌倉市御成町１８番１０号" in page
    assert "検証済みの属性" in page
    assert "my phone" in page
    assert "ログイン" in page  # the activity history lists the login


def test_it_shows_the_page_in_english_on_request(resident: Client) -> None:
    resident.cookies["django_language"] = "en"
    page = resident.get("/me/").content.decode()
    assert "My verified attributes" in page


def test_it_marks_stale_attributes(resident: Client, account: Account) -> None:
    Account.objects.filter(pk=account.pk).update(attributes_stale_since=timezone.now())
    assert "badge--stale" in resident.get("/me/").content.decode()


def test_it_shows_an_honest_empty_list_of_connected_services(resident: Client) -> None:
    assert "連携しているサービスはまだありません" in resident.get("/me/").content.decode()


def test_it_needs_a_login(client: Client) -> None:
    response = client.get("/me/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fme%2F"


def test_it_revokes_a_passkey(resident: Client, account: Account, authenticator: SoftAuthenticator) -> None:
    response = resident.post(f"/me/credentials/passkey/{_passkey().pk}/revoke/")
    assert response.status_code == 302
    assert _passkey().revoked_reason == "resident_request"
    assert AuditEntry.objects.filter(event_type="credential_revoked", subject=str(account.pk)).exists()
    assert passkey_login(Client(), authenticator)[1]["error"] == "revoked"


def test_it_refuses_to_revoke_someone_elses_passkey(resident: Client) -> None:
    other = Account.objects.create_user("resident-2")
    other_client = Client()
    login_client(other_client, other, CARD_LOGIN)
    register_passkey(other_client)
    theirs = Passkey.objects.get(account=other)
    resident.post(f"/me/credentials/passkey/{theirs.pk}/revoke/")
    resident.post("/me/credentials/passkey/not-a-uuid/revoke/")
    assert Passkey.objects.filter(revoked_at__isnull=False).count() == 0


def test_it_stops_one_passkey_at_once_and_ends_its_sessions(
    resident: Client, account: Account, authenticator: SoftAuthenticator
) -> None:
    other_device = Client()
    login_client(other_device, account, PASSKEY_LOGIN)  # e.g. a laptop still logged in
    response = resident.post(f"/me/credentials/passkey/{_passkey().pk}/stop/")
    assert response["Location"] == "/login/"  # this session used the stopped passkey: logged out
    assert _passkey().suspended_at is not None
    assert passkey_login(Client(), authenticator)[1]["error"] == "suspended"
    stop = AuditEntry.objects.get(event_type="suspension")
    assert stop.details == {"scope": "credential", "credential_id": str(_passkey().pk), "channel": "session"}


def test_it_resumes_a_passkey_only_at_card_level(resident: Client, account: Account) -> None:
    passkey = _passkey()
    Passkey.objects.update(suspended_at=timezone.now())
    low = Client()
    login_client(low, account, PASSKEY_LOGIN)
    response = low.post(f"/me/credentials/passkey/{passkey.pk}/resume/", headers={"Referer": "http://testserver/me/"})
    assert response["Location"] == "/login/card/?next=%2Fme%2F"
    assert _passkey().suspended_at is not None
    card = Client()
    login_client(card, account, CARD_LOGIN)
    card.post(f"/me/credentials/passkey/{passkey.pk}/resume/")
    assert _passkey().suspended_at is None
    assert AuditEntry.objects.filter(event_type="resumption").exists()


def test_it_stops_the_whole_account_from_a_logged_in_device(
    resident: Client, account: Account, authenticator: SoftAuthenticator
) -> None:
    other_device = Client()
    login_client(other_device, account, PASSKEY_LOGIN)
    response = resident.post("/stop/account/")
    assert response["Location"] == "/stop/"
    account.refresh_from_db()
    assert account.status == Account.Status.SUSPENDED
    assert other_device.get("/me/").status_code == 302  # every session ends
    assert passkey_login(Client(), authenticator)[1]["error"] == "account_not_active"
    stop = AuditEntry.objects.get(event_type="suspension")
    assert stop.details == {"scope": "account", "channel": "session", "reason": "resident_request"}


def test_it_shows_the_emergency_stop_page_without_a_login(client: Client) -> None:
    page = client.get("/stop/").content.decode()
    assert "/stop/card/" in page
    assert "/resume/card/" in page


def test_it_asks_for_the_card_before_deleting(resident: Client, account: Account) -> None:
    page = resident.get("/me/delete/").content.decode()
    assert "監査ログ" in page  # what is kept, and why
    response = resident.post(
        "/me/delete/confirm/", {"confirm": "yes"}, headers={"Referer": "http://testserver/me/delete/"}
    )
    assert response["Location"] == "/login/card/?next=%2Fme%2Fdelete%2F"
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE


def test_it_deletes_the_account_and_keeps_the_audit_log(account: Account, authenticator: SoftAuthenticator) -> None:
    card = Client()
    login_client(card, account, CARD_LOGIN)
    assert card.post("/me/delete/confirm/", {}).status_code == 302  # not confirmed: nothing happens
    assert Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE
    entries_before = AuditEntry.objects.count()
    card.post("/me/delete/confirm/", {"confirm": "yes"})
    account.refresh_from_db()
    assert account.status == Account.Status.DELETED
    assert account.attributes() is None
    assert account.person_key is None
    assert not Passkey.objects.exists()
    assert AuditEntry.objects.count() == entries_before + 2  # credential_revoked + deletion; nothing removed
    assert AuditEntry.objects.filter(event_type="deletion", subject=str(account.pk)).exists()
    assert passkey_login(Client(), authenticator)[1]["error"] == "unknown_credential"


def test_it_lists_only_my_own_activity(resident: Client, account: Account) -> None:
    other = Account.objects.create_user("resident-2")
    login_client(Client(), other, CARD_LOGIN)
    page = resident.get("/me/activity/")
    lines = page.context["activity"]
    assert lines
    assert {e.subject for e in AuditEntry.objects.filter(seq__in=[line.seq for line in lines])} == {str(account.pk)}


def test_it_requires_csrf_on_every_form(account: Account, authenticator: SoftAuthenticator) -> None:
    strict = Client(enforce_csrf_checks=True)
    login_client(strict, account, PASSKEY_LOGIN)
    assert strict.post("/stop/account/").status_code == 403
    assert strict.post(f"/me/credentials/passkey/{_passkey().pk}/revoke/").status_code == 403
    assert strict.post("/logout/").status_code == 403
    assert strict.post("/login/passkey/options/").status_code == 403
    assert Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE


def test_it_logs_out_with_post_only(resident: Client) -> None:
    assert resident.get("/logout/").status_code == 405
    assert resident.post("/logout/")["Location"] == "/login/"
    assert resident.get("/me/").status_code == 302


def test_it_has_a_home_page_in_japanese_that_leads_everywhere(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "マイナンバーカードでつくる、あなたのデジタルID" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page  # phone width
    for target in ("/onboarding/", "/login/", "/verify/", "/stop/", "/.well-known/openid-configuration",
                   "/.well-known/ssf-configuration"):  # fmt: skip
        assert f'href="{target}"' in page, target
        assert client.get(target).status_code == 200, target


def test_it_shows_the_home_page_in_english_on_request(client: Client) -> None:
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert "Your digital ID with the My Number Card" in page
    assert "For developers of services" in page


def test_it_leads_a_logged_in_resident_from_the_home_page_to_the_account(resident: Client) -> None:
    page = resident.get("/").content.decode()
    assert 'href="/me/"' in page
    assert 'href="/onboarding/"' not in page
    assert resident.get("/me/").status_code == 200
