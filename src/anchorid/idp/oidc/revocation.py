"""OAuth 2.0 Token Revocation (RFC 7009).

§2.1: the client authenticates (public clients name themselves with client_id) and sends ``token``
(+ ``token_type_hint``); "the authorization server first validates the client credentials ... and then verifies
whether the token was issued to the client making the revocation request. If this validation fails, the request is
refused". §2.2: "The authorization server responds with HTTP status code 200 if the token has been revoked
successfully or if the client submitted an invalid token" — an unknown or foreign token changes nothing and still
answers 200. Revoking a refresh token revokes its grant; revoking an access token revokes its grant as well
(§2.1: the server "MAY revoke the respective refresh token"), since our JWT access tokens are checked against it.
"""

from __future__ import annotations

from collections.abc import Mapping

from anchorid.idp.oidc import refresh
from anchorid.idp.oidc.errors import INVALID_REQUEST, UNSUPPORTED_TOKEN_TYPE, OAuthError
from anchorid.idp.oidc.models import Client

TOKEN_TYPE_HINTS = ("access_token", "refresh_token")


def revoke(client: Client, form: Mapping[str, str]) -> None:
    from anchorid.idp.oidc.tokens import revoke_grant
    from anchorid.idp.oidc.userinfo import validate_access_token

    token = form.get("token")
    if not token:
        raise OAuthError(INVALID_REQUEST, "token is required")
    hint = form.get("token_type_hint")
    if hint is not None and hint not in TOKEN_TYPE_HINTS:
        raise OAuthError(UNSUPPORTED_TOKEN_TYPE, "token_type_hint must be access_token or refresh_token")
    parsed = refresh.parse_token(token)
    if parsed is not None:
        from anchorid.idp.oidc.models import Grant

        grant = Grant.objects.filter(id=parsed[0], client=client).first()
        if grant is not None:
            revoke_grant(grant.id, "revoked_by_client")
        return
    try:
        _claims, grant = validate_access_token(token)
    except OAuthError:
        return
    if grant.client_id == client.client_id:
        revoke_grant(grant.id, "revoked_by_client")
