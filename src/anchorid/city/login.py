"""The city's side of "login with AnchorID", as plain functions the views call (and tests can too).

The resident's session holds, after a login: the claims the idp released (userinfo, exactly as received), the ID
token (for RP-initiated logout) and the city's access and refresh tokens (for the personalized home's token
exchanges, ``resident_tokens``), encrypted at rest (``anchorid.common.sessions``); nothing is ever logged.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore
from django.db import IntegrityError, transaction

from anchorid.city import resident_tokens
from anchorid.city.models import ResidentSession, UsedLogoutToken
from anchorid.city.rp.setup import load_config
from anchorid.common.rp.client import AnchorIDClient, LoginError, PendingLogin
from anchorid.common.settings_base import DATA_DIR

PENDING_KEY = "anchorid_pending"
LOGIN_KEY = "anchorid_login"
LOGOUT_STATE_KEY = "anchorid_logout_state"


@functools.cache
def client() -> AnchorIDClient:
    """One client per process: discovery, JWKS and DPoP nonces are cached across requests."""
    return AnchorIDClient(load_config(DATA_DIR))


def begin_login(session: SessionBase) -> str:
    """Push the authorization request; the URL to send the browser to."""
    url, pending = client().start_login()
    session[PENDING_KEY] = pending.as_dict()
    return url


def complete_login(session: SessionBase, callback_url: str) -> dict[str, Any]:
    """Finish the login started in this session; returns the claims received. Raises ``LoginError``."""
    pending = session.pop(PENDING_KEY, None)
    if not pending:
        raise LoginError("invalid_state", "no login was started in this browser")
    login = client().finish_login(callback_url, PendingLogin.from_dict(pending))
    session.cycle_key()  # a new session id once the resident is logged in (session fixation)
    # Only what the pages need: the claims they show, the ID token that logout sends as id_token_hint, and the
    # access and refresh tokens the personalized home exchanges for tokens toward the resident's linked services
    # (resident_tokens). In the session only, whose payload is encrypted at rest (anchorid.common.sessions).
    session[LOGIN_KEY] = {
        "claims": login.userinfo,
        "acr": login.id_token_claims.get("acr", ""),
        "id_token": login.token["id_token"],
    }
    resident_tokens.keep(session, login.token)
    session.save()
    assert session.session_key is not None  # saved just above
    ResidentSession.objects.create(
        session_key=session.session_key,
        sub=login.id_token_claims["sub"],
        sid=login.id_token_claims.get("sid", ""),
    )
    return login.userinfo


def logged_in(session: SessionBase) -> dict[str, Any] | None:
    value: dict[str, Any] | None = session.get(LOGIN_KEY)
    return value


def end_session(session: SessionBase) -> str | None:
    """End the local session; the idp's logout URL to send the browser to (None if nobody was logged in)."""
    login = session.get(LOGIN_KEY)
    if session.session_key:
        ResidentSession.objects.filter(session_key=session.session_key).delete()
    session.flush()
    if not login:
        return None
    state = secrets.token_urlsafe(24)
    session[LOGOUT_STATE_KEY] = state
    return client().logout_url(login["id_token"], state)


def confirm_logout(session: SessionBase, state: str) -> bool:
    """True when the idp sent the browser back from the logout this session started."""
    expected = session.pop(LOGOUT_STATE_KEY, "")
    return bool(expected) and secrets.compare_digest(expected, state)


def backchannel_logout(logout_token: str) -> int:
    """Back-Channel Logout 1.0 §2.6–2.8: verify the token, accept its jti once, end the sessions it names
    (by ``sid`` when given, else every session of ``sub``). Returns how many sessions ended."""
    claims = client().verify_logout_token(logout_token)
    try:
        with transaction.atomic():
            UsedLogoutToken.objects.create(jti=str(claims["jti"])[:255])
    except IntegrityError:
        raise LoginError("invalid_request", "logout token replayed") from None
    sessions = ResidentSession.objects.all()
    if claims.get("sid"):
        sessions = sessions.filter(sid=claims["sid"])
    if claims.get("sub"):
        sessions = sessions.filter(sub=claims["sub"])
    ended = 0
    for session_key in sessions.values_list("session_key", flat=True):
        SessionStore(session_key=session_key).delete()
        ended += 1
    sessions.delete()
    return ended
