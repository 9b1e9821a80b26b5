"""Shared by the login, passkey and self-service tests: log a test client in at a level, register a passkey."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Authentication
from anchorid.idp.sessions import log_in

from .webauthn_authenticator import SoftAuthenticator

ORIGIN = "https://id.anchorid.test"
RP_ID = "id.anchorid.test"


def login_client(client: Client, account: Account, authentication: Authentication, credential: str = "") -> None:
    """Give ``client`` a session logged in through ``sessions.log_in`` (acr, amr, auth_time, audit entry)."""
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    log_in(request, account, authentication, credential=credential)
    request.session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key


def register_passkey(client: Client, name: str = "my phone") -> SoftAuthenticator:
    """Register a passkey through the real endpoints (the client must be logged in at card level)."""
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)
    options = client.post("/passkeys/register/options/").json()
    response = client.post(
        "/passkeys/register/finish/",
        authenticator.create(options),
        content_type="application/json",
        headers={"X-Passkey-Name": name},
    )
    assert response.status_code == 200, response.content
    return authenticator


def passkey_login(client: Client, authenticator: SoftAuthenticator, **knobs: object) -> tuple[int, dict[str, str]]:
    options = client.post("/login/passkey/options/").json()
    response = client.post(
        "/login/passkey/finish/",
        authenticator.get(options, **knobs),
        content_type="application/json",  # type: ignore[arg-type]
    )
    return response.status_code, response.json()
