"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.

RP-Initiated Logout §2: the RP sends the resident to the ``end_session_endpoint`` with ``id_token_hint`` (an ID
token we issued; an expired one is fine), ``post_logout_redirect_uri``, ``state``, ``client_id``. §3: the
post-logout redirect URI "MUST have been previously registered" — exact match — and needs the client to be known
(from the hint's ``aud`` or ``client_id``); otherwise the resident stays on our "logged out" page. With a valid hint
for the logged-in account we log out at once; without one, the resident confirms first (§2: the OP "SHOULD ask the
End-User whether to log out").

Back-Channel Logout §2.4-2.5: for every client that holds a grant from this login session (``sid``) and registered a
``backchannel_logout_uri``, a Logout Token — a JWT with iss, aud, iat, exp, jti, sub and/or sid, and ``events``
containing ``http://schemas.openid.net/event/backchannel-logout``, and no ``nonce`` (§2.4) — is POSTed as
``logout_token=…`` (typ ``logout+jwt``, §2.4 recommendation). Each logout is written to an outbox and tried at once
with a short timeout; a failed one is retried with backoff by the delivery worker (``anchorid.idp.ssf.backchannel``).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from anchorid.idp.oidc import config, jwks
from anchorid.idp.oidc.clients import get_client
from anchorid.idp.oidc.jose import InvalidJws
from anchorid.idp.oidc.models import Client
from anchorid.idp.oidc.pairwise import subject_for

logger = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: Client | None
    subject: str | None  # the hint's sub, when a valid hint was given
    post_logout_redirect_uri: str | None
    state: str | None


def parse(params: dict[str, str]) -> LogoutRequest:
    """Read the logout request; an invalid hint or unregistered redirect URI simply means no redirect."""
    client = get_client(params.get("client_id")) if params.get("client_id") else None
    subject = None
    hint = params.get("id_token_hint")
    if hint:
        try:
            _header, claims = jwks.verify_own_token(hint)
        except InvalidJws:
            claims = {}
        aud = claims.get("aud")
        hinted = get_client(aud if isinstance(aud, str) else None)
        if claims.get("iss") == config.issuer() and hinted is not None and (client is None or client == hinted):
            client, subject = hinted, claims.get("sub")
    redirect = params.get("post_logout_redirect_uri")
    if not (client is not None and redirect and redirect in client.post_logout_redirect_uris):
        redirect = None
    return LogoutRequest(client=client, subject=subject, post_logout_redirect_uri=redirect, state=params.get("state"))


def hint_matches(request: LogoutRequest, account_id: object) -> bool:
    if request.client is None or request.subject is None:
        return False
    return subject_for(request.client.sector, request.client.public_sub, str(account_id)) == request.subject


def logout_token(client: Client, sub: str, sid: str) -> str:
    now = int(time.time())
    claims = {
        "iss": config.issuer(),
        "aud": client.client_id,
        "iat": now,
        "exp": now + config.LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "sub": sub,
        "sid": sid,
        "events": {BACKCHANNEL_EVENT: {}},
    }
    return jwks.sign_token(claims, typ="logout+jwt", alg=client.id_token_signed_response_alg)


def notify_clients(sid: str) -> tuple[int, int]:
    """POST a logout token to each client with a grant from session ``sid``; returns (delivered, failed). Failed
    ones are retried by the Shared Signals delivery worker (``anchorid.idp.ssf.backchannel``)."""
    from anchorid.idp.ssf import backchannel

    return backchannel.notify(sid)
