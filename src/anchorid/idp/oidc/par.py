"""OAuth 2.0 Pushed Authorization Requests (PAR), RFC 9126.

§2: the client POSTs the authorization request parameters to the PAR endpoint, authenticated as at the token
endpoint; §2.1 "The authorization server MUST ... reject the request if the request_uri authorization request
parameter is provided"; the request is validated as an authorization request would be. §2.2 the response is
``201`` with ``request_uri`` and ``expires_in``. §4 at the authorization endpoint the client sends only
``client_id`` and ``request_uri``; the server uses the pushed parameters (and ignores others), checks the
``request_uri`` belongs to that client and has not expired, and "SHOULD" treat it as one-time use: ours is used up
when the authorization response (code or error) is issued, so a reload during login or consent still works.
§2.3 errors are JSON. RFC 9449 §10: a DPoP proof (or ``dpop_jkt``) at PAR binds the code to that key.

The simple profile may skip PAR (``Client.require_par`` False): its authorization request is then stored the same
way (``pushed`` False), so the rest of the flow has one shape.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from anchorid.common.raw_insert import insert
from anchorid.idp.oidc import config
from anchorid.idp.oidc.errors import INVALID_REQUEST, INVALID_REQUEST_URI, OAuthError
from anchorid.idp.oidc.models import Client, PushedRequest

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# Parameters that never go into a stored request: client authentication and DPoP binding.
NOT_STORED = ("client_assertion", "client_assertion_type", "client_secret", "dpop_jkt")


def store(params: Mapping[str, str], client: Client, *, pushed: bool, dpop_jkt: str = "") -> PushedRequest:
    now = timezone.now()
    return insert(  # one INSERT without the ORM's query building (anchorid.common.raw_insert)
        PushedRequest,
        id=secrets.token_urlsafe(32),
        client=client,
        params={k: v for k, v in params.items() if k not in NOT_STORED},
        pushed=pushed,
        dpop_jkt=dpop_jkt,
        created_at=now,
        expires_at=now + timedelta(seconds=config.REQUEST_URI_LIFETIME),
    )


def check_push(params: Mapping[str, str], client: Client) -> None:
    if "request_uri" in params:
        raise OAuthError(INVALID_REQUEST, "request_uri must not be pushed (RFC 9126 §2.1)")
    if "request" in params:
        raise OAuthError("request_not_supported", "request objects are not supported; push the parameters")
    if params.get("client_id", client.client_id) != client.client_id:
        raise OAuthError(INVALID_REQUEST, "client_id does not match the authenticated client")


def request_uri_of(pushed: PushedRequest) -> str:
    return REQUEST_URI_PREFIX + pushed.id


def resolve(request_uri: str, client: Client) -> PushedRequest:
    """The stored request named by ``request_uri`` for ``client``; refuses unknown, expired and used ones."""
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        raise OAuthError(INVALID_REQUEST_URI, "unknown request_uri")
    # Raw SQL on the hot path of every authorization (issue #13): the ORM's query building cost five times the read.
    table = PushedRequest._meta.db_table
    found = PushedRequest.objects.raw(
        f"SELECT * FROM {table} WHERE id = %s AND client_id = %s",  # noqa: S608  (a model's own table name)
        [
            request_uri[len(REQUEST_URI_PREFIX) :],
            PushedRequest._meta.get_field("client").get_db_prep_value(client.pk, connection),
        ],
    )
    rows = list(found)  # read to the end: no cursor left open on the connection
    stored = rows[0] if rows else None
    if stored is None:
        raise OAuthError(INVALID_REQUEST_URI, "unknown request_uri")
    if stored.used:
        raise OAuthError(INVALID_REQUEST_URI, "this request_uri was used already")
    if stored.expires_at <= timezone.now():
        raise OAuthError(INVALID_REQUEST_URI, "this request_uri has expired")
    return stored


def use_up(stored: PushedRequest) -> bool:
    """Mark the request used (atomically: one conditional UPDATE); False if it was used or expired meanwhile."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PushedRequest._meta.db_table} SET used = %s WHERE id = %s AND used = %s AND expires_at > %s",  # noqa: S608
            [True, stored.id, False, now],
        )
        updated: int = cursor.rowcount
    return updated == 1
