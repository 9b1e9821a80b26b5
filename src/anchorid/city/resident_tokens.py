"""The city's own tokens for the logged-in resident, kept for the personalized home (issue 17).

The home asks the idp to exchange the city's access token for a token toward a linked service (RFC 8693): so the
session keeps the access token, its expiry and the refresh token — in the session only (its payload is encrypted
at rest, ``anchorid.common.sessions``), never in a model, gone at logout (``session.flush``) and at back-channel
logout (the session row is deleted). An access token about to expire is refreshed first (the idp rotates the
refresh token: the new one replaces the old in the session).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from anchorid.common.rp.client import AnchorIDClient, LoginError

TOKENS_KEY = "anchorid_tokens"
#: Refresh when the access token has less than this left: an exchange and a fetch must fit in what remains.
MARGIN_SECONDS = 30


def keep(session: SessionBase, token: dict[str, Any]) -> None:
    """Keep what an exchange needs from a token response (the login's or a refresh's)."""
    lifetime = int(token.get("expires_in") or 0)
    expires_at = int(token.get("expires_at") or (time.time() + lifetime if lifetime else 0))
    session[TOKENS_KEY] = {
        "access_token": str(token["access_token"]),
        "token_type": str(token.get("token_type", "DPoP")),
        "refresh_token": str(token.get("refresh_token") or ""),
        "expires_at": expires_at,
    }


def fresh_access_token(session: SessionBase, client: AnchorIDClient) -> str | None:
    """The city's access token for this resident, refreshed when it is (nearly) expired; None when there is none
    or the idp no longer refreshes it (the grant was revoked, the refresh token expired): log in again."""
    kept = session.get(TOKENS_KEY)
    if not isinstance(kept, dict) or not kept.get("access_token"):
        return None
    if int(kept.get("expires_at") or 0) - MARGIN_SECONDS > time.time():
        return str(kept["access_token"])
    if not kept.get("refresh_token"):
        return None
    try:
        token = client.refresh(
            {"access_token": kept["access_token"], "refresh_token": kept["refresh_token"],
             "token_type": kept.get("token_type", "DPoP"), "expires_at": kept["expires_at"]}
        )  # fmt: skip
    except LoginError as error:
        if error.code != "temporarily_unavailable":  # refused: this token is over; unreachable: try next time
            session.pop(TOKENS_KEY, None)
        return None
    if not token.get("refresh_token"):
        token["refresh_token"] = kept["refresh_token"]
    keep(session, token)
    return str(token["access_token"])
