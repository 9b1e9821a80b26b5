"""Login with AnchorID at the participation platform (the shared client, ``anchorid.common.rp``): the session keeps
the pairwise ``sub`` and the claims released (``resident_of``, ``age_over_15``, ``age_over_18``); nothing is logged
or stored in a table. What the platform asks for: ``resident_of``, ``age_over_15`` (youth processes) and
``age_over_18``, all optional — a person may decline to share their municipality and then takes part as an AnchorID
user without residency."""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from anchorid.common.rp import setup as common_setup
from anchorid.common.rp.client import AnchorIDClient, ClientConfig, LoginError, PendingLogin
from anchorid.participation.identity import LOGIN_KEY, PSEUDONYM_KEY

SETUP_COMMAND = "anchorid participation setup"
DEFAULT_CLIENT_ID = "participation"
CLAIMS: dict[str, Any] = {"userinfo": {"resident_of": None, "age_over_15": None, "age_over_18": None}}
PENDING_KEY = "participation_pending"
LOGOUT_STATE_KEY = "participation_logout_state"


def load_config(data_dir: Path) -> ClientConfig:
    return common_setup.load_config(data_dir, setup_command=SETUP_COMMAND)


@functools.cache
def client() -> AnchorIDClient:
    from anchorid.common.settings_base import DATA_DIR

    return AnchorIDClient(load_config(DATA_DIR))


def begin_login(session: SessionBase) -> str:
    url, pending = client().start_login()
    session[PENDING_KEY] = pending.as_dict()
    return url


def complete_login(session: SessionBase, callback_url: str) -> dict[str, Any]:
    pending = session.pop(PENDING_KEY, None)
    if not pending:
        raise LoginError("invalid_state", "no login was started in this browser")
    login = client().finish_login(callback_url, PendingLogin.from_dict(pending))
    session.pop(PSEUDONYM_KEY, None)  # an anonymous pseudonym of this browser is not carried into the login
    session.cycle_key()
    session[LOGIN_KEY] = {"sub": login.id_token_claims["sub"], "claims": login.userinfo,
                          "id_token": login.token["id_token"]}  # fmt: skip
    return dict(login.userinfo)


def end_session(session: SessionBase) -> str | None:
    login = session.get(LOGIN_KEY)
    session.flush()
    if not login:
        return None
    state = secrets.token_urlsafe(24)
    session[LOGOUT_STATE_KEY] = state
    return client().logout_url(login["id_token"], state)
