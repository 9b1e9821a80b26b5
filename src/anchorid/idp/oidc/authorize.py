"""The authorization endpoint: authorization code flow only (OIDC Core §3.1.2, RFC 6749 §4.1, FAPI 2.0).

Order of checks (RFC 6749 §4.1.2.1): an unknown client, or a redirect URI that is not exactly one of the client's,
is shown to the resident as an error page and never redirected to. After that every error goes back to the
redirect URI with ``error``, ``state`` and ``iss`` (RFC 9207 §2: "the authorization server MUST include the iss
parameter in the authorization response", errors included).

Then, for a valid request (pushed or stored, see ``par``):

1. login: none, or ``prompt=login`` and the login predates this request, or older than ``max_age``, or below the
   level asked for (``acr_values``, an essential ``acr`` claim, the client's ``require_acr``) → the login page, or
   card login for card level (step-up), with ``next`` back here; ``prompt=none`` answers ``login_required`` /
   ``interaction_required`` instead;
2. consent (``consent``): any claim not yet decided → the consent screen; ``prompt=none`` → ``consent_required``;
3. the code: single use, ``CODE_LIFETIME`` (60 s), bound to the client, redirect URI, PKCE challenge, DPoP key
   (if bound at PAR), the login (acr, amr, auth_time, session) and the granted claims.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.utils import timezone

from anchorid.common.raw_insert import insert
from anchorid.idp.assurance import ACR_VALUES, Level
from anchorid.idp.oidc import config, par, pkce
from anchorid.idp.oidc.claims import SCOPE_CLAIMS, RequestedClaims, requested_claims
from anchorid.idp.oidc.errors import (
    INVALID_REQUEST,
    INVALID_SCOPE,
    UNSUPPORTED_RESPONSE_TYPE,
    OAuthError,
)
from anchorid.idp.oidc.models import Client, Grant, PushedRequest
from anchorid.idp.sessions import CurrentAuthentication

PROMPTS = {"none", "login", "consent"}
MAX_NONCE = 512
MAX_STATE = 2000


class UnsafeRedirect(OAuthError):
    """An error that must not be sent to the redirect URI (unknown client, unregistered redirect URI...)."""


class ErrorRedirect(OAuthError):
    """An error sent back to the client's (valid) redirect URI."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.location = response_location(redirect_uri, {"error": error, "error_description": description}, state)


@dataclass
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    state: str | None
    scopes: list[str]
    requested: RequestedClaims
    nonce: str
    code_challenge: str
    prompt: set[str]
    max_age: int | None
    required_level: Level | None


def response_location(redirect_uri: str, values: Mapping[str, str], state: str | None) -> str:
    params = dict(values)
    if state is not None:
        params["state"] = state
    params["iss"] = config.issuer()
    return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params)


def check_redirect_uri(client: Client, redirect_uri: str | None) -> str:
    if not redirect_uri:
        raise UnsafeRedirect(INVALID_REQUEST, "redirect_uri is required")
    if redirect_uri not in client.redirect_uris:
        raise UnsafeRedirect(INVALID_REQUEST, "redirect_uri is not registered for this client (exact match)")
    return redirect_uri


def _level_asked(values: list[str]) -> Level | None:
    levels = [Level.from_acr(v) for v in values if v in ACR_VALUES.values()]
    return min(levels) if levels else None


def parse(params: Mapping[str, str], client: Client) -> AuthorizationRequest:
    """Validate an authorization request; ``UnsafeRedirect`` before the redirect URI is known good, plain
    ``OAuthError`` after (the caller decides: JSON at PAR, a redirect at the authorization endpoint)."""
    redirect_uri = check_redirect_uri(client, params.get("redirect_uri"))
    state = params.get("state")
    if state is not None and len(state) > MAX_STATE:
        raise UnsafeRedirect(INVALID_REQUEST, "state is too long")
    if params.get("response_type") != "code":
        raise OAuthError(UNSUPPORTED_RESPONSE_TYPE, "only response_type=code is supported")
    if params.get("response_mode", "query") != "query":
        raise OAuthError(INVALID_REQUEST, "only response_mode=query is supported")
    if "request" in params:
        raise OAuthError("request_not_supported", "request objects are not supported")
    scopes = params.get("scope", "").split()
    if "openid" not in scopes:
        raise OAuthError(INVALID_SCOPE, "scope must include openid")
    if any(scope not in SCOPE_CLAIMS for scope in scopes) or any(scope not in client.scopes for scope in scopes):
        raise OAuthError(INVALID_SCOPE, "a requested scope is unknown or not allowed for this client")
    challenge = pkce.check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    requested = requested_claims(scopes, params.get("claims"), client.claims)
    nonce = params.get("nonce", "")
    if len(nonce) > MAX_NONCE:
        raise OAuthError(INVALID_REQUEST, "nonce is too long")
    prompt = set(params.get("prompt", "").split())
    if prompt - PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise OAuthError(INVALID_REQUEST, "prompt must be none, or any of login and consent")
    max_age: int | None = None
    if "max_age" in params:
        try:
            max_age = int(params["max_age"])
        except ValueError:
            raise OAuthError(INVALID_REQUEST, "max_age must be a number of seconds") from None
        if max_age < 0:
            raise OAuthError(INVALID_REQUEST, "max_age must not be negative")
    asked = [_level_asked(params.get("acr_values", "").split()), _level_asked(requested.acr_values)]
    if client.require_acr:
        asked.append(Level.from_acr(client.require_acr))
    levels = [level for level in asked if level is not None]
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        state=state,
        scopes=scopes,
        requested=requested,
        nonce=nonce,
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        required_level=max(levels) if levels else None,
    )


def login_reason(request: AuthorizationRequest, stored: PushedRequest, current: CurrentAuthentication | None) -> str:
    """Why the resident must log in (again) before this request can go on: '' (no need), 'login', 'step_up'."""
    if current is None:
        return "login"
    auth_time = int(current.auth_time.timestamp())
    if "login" in request.prompt and auth_time < int(stored.created_at.timestamp()):
        return "login"
    if request.max_age is not None and timezone.now().timestamp() - auth_time > request.max_age:
        return "login"
    if request.required_level is not None and current.level < request.required_level:
        return "step_up"
    return ""


def continue_path(stored: PushedRequest) -> str:
    """Where the login pages send the resident back to (same site; no personal data in it)."""
    return "/oidc/authorize?" + urlencode({"client_id": stored.client_id, "request_uri": par.request_uri_of(stored)})


def session_sid(session_key: str | None) -> str:
    """The Back-Channel Logout ``sid`` of a login session: a hash of the session key (which rotates at login)."""
    return hashlib.sha256(f"sid\x00{session_key or ''}".encode()).hexdigest()[:32]


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def issue_code(
    request: AuthorizationRequest,
    stored: PushedRequest,
    current: CurrentAuthentication,
    granted_claims: set[str],
    session_key: str | None,
) -> str:
    """Use up the stored request and create the grant; returns the redirect location with the code."""
    if not par.use_up(stored):
        raise UnsafeRedirect("invalid_request_uri", "this request_uri was used already or has expired")
    code = secrets.token_urlsafe(32)
    requested = request.requested
    now = timezone.now()
    insert(  # one INSERT without the ORM's query building (anchorid.common.raw_insert)
        Grant,
        id=secrets.token_urlsafe(16),
        client=request.client,
        account=current.account,
        code_hash=hash_code(code),
        code_expires_at=now + timedelta(seconds=config.CODE_LIFETIME),
        redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge,
        nonce=request.nonce,
        scope=" ".join(request.scopes),
        claims={
            "id_token": sorted(requested.id_token & granted_claims),
            "userinfo": sorted(requested.userinfo & granted_claims),
            "verified": sorted(requested.verified & granted_claims) if "verified_claims" in granted_claims else [],
        },
        acr=current.level.acr,
        amr=current.authentication.amr,
        auth_time=current.auth_time,
        sid=session_sid(session_key),
        dpop_jkt=stored.dpop_jkt,
        created_at=now,
    )
    return response_location(request.redirect_uri, {"code": code}, request.state)


def refuse(request: AuthorizationRequest, stored: PushedRequest, error: str, description: str) -> str:
    """Use up the request and return the error redirect location."""
    par.use_up(stored)
    return response_location(request.redirect_uri, {"error": error, "error_description": description}, request.state)
