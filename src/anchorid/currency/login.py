"""Login with AnchorID and the passkey step-up before a large payment, as functions the views call.

The session keeps the member's pairwise ``sub`` and the claims released (encrypted at rest,
``anchorid.common.sessions``), the ID token for logout, and while a step-up is under way what it will confirm."""

from __future__ import annotations

import functools
import secrets
import time
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from anchorid.common.rp.client import AnchorIDClient, LoginError, PendingLogin
from anchorid.common.settings_base import DATA_DIR
from anchorid.currency import rp

PENDING_KEY = "currency_pending"
LOGIN_KEY = "currency_login"
STEP_UP_KEY = "currency_step_up"
LOGOUT_STATE_KEY = "currency_logout_state"


@functools.cache
def client() -> AnchorIDClient:
    return AnchorIDClient(rp.load_config(DATA_DIR))


def begin_login(session: SessionBase) -> str:
    url, pending = client().start_login()
    session[PENDING_KEY] = pending.as_dict()
    session.pop(STEP_UP_KEY, None)
    return url


def begin_step_up(session: SessionBase, intent: dict[str, Any]) -> str:
    """A fresh passkey login (``prompt=login``: the idp asks again even with a session; ``acr_values``: passkey
    level or above) to confirm ``intent``; the callback checks ``auth_time`` is after the request. (``max_age=0``
    would do the same, but the idp counts whole seconds against a fractional clock and asks for the login again.)"""
    url, pending = client().start_login(prompt="login", acr_values=rp.STEP_UP_ACR)
    session[PENDING_KEY] = pending.as_dict()
    session[STEP_UP_KEY] = {**intent, "started": int(time.time())}
    return url


def complete_login(session: SessionBase, callback_url: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Finish the login; (the claims, the step-up intent it confirmed or None). Raises ``LoginError``."""
    pending = session.pop(PENDING_KEY, None)
    if not pending:
        raise LoginError("invalid_state", "no login was started in this browser")
    login = client().finish_login(callback_url, PendingLogin.from_dict(pending))
    step_up = session.pop(STEP_UP_KEY, None)
    current = session.get(LOGIN_KEY)
    if step_up is not None:
        fresh = int(login.id_token_claims.get("auth_time", 0)) >= int(step_up["started"]) - 5
        acr_ok = str(login.id_token_claims.get("acr", "")).startswith("urn:anchorid:acr:")
        if current is None or current["sub"] != login.id_token_claims["sub"] or not (fresh and acr_ok):
            raise LoginError("step_up_failed", "the confirmation was not a fresh login by the same person")
        claims: dict[str, Any] = current["claims"]
        return claims, step_up
    session.cycle_key()
    session[LOGIN_KEY] = {
        "sub": login.id_token_claims["sub"],
        "claims": login.userinfo,
        "id_token": login.token["id_token"],
    }
    return login.userinfo, None


def logged_in(session: SessionBase) -> dict[str, Any] | None:
    value: dict[str, Any] | None = session.get(LOGIN_KEY)
    return value


def end_session(session: SessionBase) -> str | None:
    login = session.get(LOGIN_KEY)
    session.flush()
    if not login:
        return None
    state = secrets.token_urlsafe(24)
    session[LOGOUT_STATE_KEY] = state
    return client().logout_url(login["id_token"], state)
