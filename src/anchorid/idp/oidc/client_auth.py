"""Client authentication at the token, PAR, introspection and revocation endpoints.

- ``private_key_jwt`` (OIDC Core §9, RFC 7523 §2.2 and §3): ``client_assertion_type =
  urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a JWT signed with one of the client's registered
  keys. RFC 7523 §3: "The JWT MUST contain an iss (issuer) claim" and "a sub (subject) claim" (both the client_id
  here), "an aud (audience) claim containing a value that identifies the authorization server as an intended
  audience": we accept exactly the issuer identifier as a single string (FAPI 2.0 Security Profile §5.3.2.1;
  draft-ietf-oauth-rfc7523bis, after the audience-injection findings: an array or an endpoint URL lets an assertion
  made for one server be replayed at another, so both are refused),
  "an exp (expiration time) claim that limits the time window during which the JWT can be used", and "the
  authorization server MAY ensure that JWTs are not replayed by maintaining the set of used jti values for the
  length of time for which the JWT would be considered valid": we do (``replay``), and we require ``jti``. An
  assertion may live at most ``CLIENT_ASSERTION_MAX_LIFETIME`` seconds. ES256 and PS256 only (FAPI 2.0 §5.4).
- ``client_secret_basic`` (RFC 6749 §2.3.1): only for clients registered that way (simple profile, low assurance).
- ``none``: a public client names itself with ``client_id`` (simple profile only).

Every failure is ``invalid_client`` (RFC 6749 §5.2), 401; failures are counted per claimed client_id and per IP
(``claimed_client_id``, ``client_limits``), and past the limit every attempt is 429 until the window ends.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from anchorid.common import untrusted_json
from anchorid.idp.oidc import config, replay
from anchorid.idp.oidc.clients import client_keys, get_client, secret_matches
from anchorid.idp.oidc.errors import INVALID_CLIENT, INVALID_REQUEST, OAuthError
from anchorid.idp.oidc.jose import InvalidJws, b64url_decode, unverified_header, verify
from anchorid.idp.oidc.models import Client

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 5


def _refuse(description: str) -> OAuthError:
    return OAuthError(INVALID_CLIENT, description, status=401)


def replayed() -> OAuthError:
    return _refuse("this client assertion was used before (jti replay)")


def authenticate(
    form: Mapping[str, str],
    authorization: str | None,
    *,
    endpoint_url: str,
    deferred: list[replay.Pending] | None = None,
) -> Client:
    """The authenticated client of this request; raises ``OAuthError(invalid_client)``.

    With ``deferred``, a client assertion's jti is appended to it instead of being recorded: the caller records it
    (``replay.record``, together with the DPoP proof's) and refuses with ``replayed()`` when it was not new."""
    has_basic = bool(authorization and authorization[:6].lower() == "basic ")
    has_assertion = "client_assertion" in form or "client_assertion_type" in form
    if has_basic and has_assertion:
        raise OAuthError(INVALID_REQUEST, "use exactly one client authentication method")
    if has_assertion:
        return _private_key_jwt(form, deferred)
    if has_basic:
        assert authorization is not None
        return _client_secret_basic(authorization, form)
    client = get_client(form.get("client_id"))
    if client is None:
        raise _refuse("unknown client")
    if client.auth_method != Client.AuthMethod.NONE:
        raise _refuse(f"this client authenticates with {client.auth_method}")
    return client


def claimed_client_id(form: Mapping[str, str], authorization: str | None) -> str:
    """The client_id a request claims, before anything is verified (the key of the failure limits,
    ``client_limits``): the Basic user name, else ``client_id``, else the client assertion's unverified ``iss``."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.partition(":")[0])[:128]
    if form.get("client_id"):
        return form["client_id"][:128]
    try:
        unverified = untrusted_json.loads(b64url_decode(form.get("client_assertion", "").split(".")[1]))
    except (ValueError, IndexError):
        return ""
    issuer = unverified.get("iss") if isinstance(unverified, dict) else None
    return issuer[:128] if isinstance(issuer, str) else ""


def _client_secret_basic(authorization: str, form: Mapping[str, str]) -> Client:
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _refuse("malformed Basic credentials") from None
    client_id, colon, secret = decoded.partition(":")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not colon:
        raise _refuse("malformed Basic credentials")
    if "client_id" in form and form["client_id"] != client_id:
        raise _refuse("client_id does not match the credentials")
    client = get_client(client_id)
    if client is None or client.auth_method != Client.AuthMethod.CLIENT_SECRET_BASIC:
        raise _refuse("unknown client or not registered for client_secret_basic")
    if not secret_matches(client, secret):
        raise _refuse("wrong client secret")
    return client


def _private_key_jwt(form: Mapping[str, str], deferred: list[replay.Pending] | None) -> Client:
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise _refuse(f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = form.get("client_assertion", "")
    try:
        header = unverified_header(assertion)
        unverified = untrusted_json.loads(b64url_decode(assertion.split(".")[1]))
    except (InvalidJws, ValueError, IndexError) as e:
        raise _refuse(f"client_assertion: {e}") from None
    client_id = unverified.get("iss") if isinstance(unverified, dict) else None
    if "client_id" in form and form["client_id"] != client_id:
        raise _refuse("client_id does not match the assertion's issuer")
    client = get_client(client_id)
    if client is None:
        raise _refuse("unknown client")
    if client.auth_method != Client.AuthMethod.PRIVATE_KEY_JWT:
        raise _refuse("this client is not registered for private_key_jwt")
    try:
        keys = client_keys(client, header.get("kid"))
        _, claims = verify(assertion, keys)
    except InvalidJws as e:
        raise _refuse(f"client_assertion: {e}") from None
    now = time.time()
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise _refuse("iss and sub must be the client_id")
    if claims.get("aud") != config.issuer():
        raise _refuse("aud must be exactly the issuer identifier, as a single string")
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now - CLOCK_SKEW:
        raise _refuse("the assertion has no exp or has expired")
    if exp > now + config.CLIENT_ASSERTION_MAX_LIFETIME + CLOCK_SKEW:
        raise _refuse("the assertion's exp is too far in the future")
    if isinstance(iat, int | float) and iat > now + CLOCK_SKEW:
        raise _refuse("the assertion's iat is in the future")
    if isinstance(nbf, int | float) and nbf > now + CLOCK_SKEW:
        raise _refuse("the assertion is not valid yet")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
        raise _refuse("the assertion needs a jti")
    entry = replay.pending("client_assertion", client.client_id, jti, datetime.fromtimestamp(exp + CLOCK_SKEW, UTC))
    if deferred is not None:
        deferred.append(entry)
    elif entry.key not in replay.record([entry]):
        raise replayed()
    return client
