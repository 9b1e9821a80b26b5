"""HTTP views of the OpenID Provider: parse the request, call the spec modules, shape the response.

Endpoint responses are JSON with ``Cache-Control: no-store`` (RFC 6749 §5.1); errors carry the spec's error code and
never a 500 for bad input. The authorization endpoint answers with redirects (or, when the client or redirect URI
cannot be trusted, an error page).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from anchorid.common import untrusted_json
from anchorid.common.csp import allow_form_targets
from anchorid.idp import ratelimit
from anchorid.idp.assurance import Level
from anchorid.idp.guardians.consent import guardian_consent
from anchorid.idp.oidc import (
    authorize,
    client_auth,
    client_credentials,
    client_limits,
    config,
    consent,
    discovery,
    dpop,
    introspection,
    jwks,
    logout,
    par,
    refresh,
    replay,
    revocation,
    token_exchange,
    tokens,
    userinfo,
)
from anchorid.idp.oidc.clients import get_client
from anchorid.idp.oidc.errors import (
    ACCESS_DENIED,
    CONSENT_REQUIRED,
    INTERACTION_REQUIRED,
    INVALID_CLIENT,
    INVALID_DPOP_PROOF,
    INVALID_GRANT,
    INVALID_REQUEST,
    LOGIN_REQUIRED,
    UNSUPPORTED_GRANT_TYPE,
    OAuthError,
    Throttled,
)
from anchorid.idp.oidc.models import Client, PushedRequest
from anchorid.idp.oidc.presentation import claim_rows
from anchorid.idp.sessions import CurrentAuthentication, current_authentication, log_out, requires_level
from anchorid.idp.ssf import hooks as ssf_hooks

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in {**NO_STORE, **(headers or {})}.items():
        response[name] = value
    return response


def _error(error: OAuthError, *, resource: bool = False) -> JsonResponse:
    headers: dict[str, str] = {}
    if isinstance(error, Throttled):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, dpop.DPoPError):
        headers["DPoP-Nonce"] = error.nonce
    if error.status == 401:
        if resource:
            headers["WWW-Authenticate"] = (
                f'DPoP error="{error.error}", algs="ES256 PS256"'
                if error.error.endswith("dpop_proof") or error.error == "use_dpop_nonce"
                else f'DPoP error="{error.error}", algs="ES256 PS256", Bearer'
            )
        else:
            headers["WWW-Authenticate"] = 'Basic realm="anchorid"'
    return _json(error.body(), status=error.status, headers=headers)


def _single(data: QueryDict) -> dict[str, str]:
    """RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once"."""
    result: dict[str, str] = {}
    for key, values in data.lists():
        if len(values) != 1:
            raise OAuthError(INVALID_REQUEST, f"parameter {key} is repeated")
        result[key] = values[0]
    return result


def _form(request: HttpRequest) -> dict[str, str]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError(INVALID_REQUEST, "send application/x-www-form-urlencoded")
    return _single(request.POST)


def _endpoint(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """JSON endpoints: every OAuthError becomes its JSON error response."""

    def wrapped(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except OAuthError as error:
            return _error(error)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


def _proof(
    request: HttpRequest,
    path: str,
    *,
    status: int = 400,
    access_token: str | None = None,
    deferred: list[replay.Pending] | None = None,
) -> Any:
    header = request.headers.get("DPoP")
    if header is None:
        return None
    return dpop.verify_proof(
        header,
        method=request.method or "",
        uri=config.endpoint(path),
        access_token=access_token,
        status=status,
        deferred=deferred,
    )


def _limited(request: HttpRequest, form: dict[str, str], authenticate: Callable[[], Any]) -> Any:
    """Run ``authenticate`` under the client-authentication limits (``client_limits``): refused with 429 while the
    claimed client_id or the caller's IP is locked out, even with the right credentials; each ``invalid_client``
    counts."""
    ip = ratelimit.client_ip(request)
    claimed = client_auth.claimed_client_id(form, request.headers.get("Authorization"))
    counters = client_limits.read(claimed, ip)  # one read; a grant check later uses it too (_grant)
    request.oidc_limits = counters  # type: ignore[attr-defined]
    client_limits.check_authentication(claimed, ip, counters)
    try:
        return authenticate()
    except Throttled:
        raise
    except OAuthError as error:
        if error.error == INVALID_CLIENT:
            client_limits.authentication_failed(claimed, ip)
        raise


def _authenticate(request: HttpRequest, form: dict[str, str], path: str) -> Client:
    authorization = request.headers.get("Authorization")
    client: Client = _limited(
        request,
        form,
        lambda: client_auth.authenticate(form, authorization, endpoint_url=config.endpoint(path)),
    )
    return client


def _client_and_proof(request: HttpRequest, form: dict[str, str], path: str) -> tuple[Client, Any]:
    """Client authentication (under its limits), then the DPoP proof (if any); both jtis are recorded in one
    statement."""
    result: tuple[Client, Any] = _limited(request, form, lambda: _client_and_proof_checked(request, form, path))
    return result


def _client_and_proof_checked(request: HttpRequest, form: dict[str, str], path: str) -> tuple[Client, Any]:
    """The outcome is the one of checking them one after the other: a replayed assertion is ``invalid_client`` even
    when the proof is bad too, and a refused proof does not keep the assertion's jti from being recorded."""
    pending: list[replay.Pending] = []
    client = client_auth.authenticate(
        form, request.headers.get("Authorization"), endpoint_url=config.endpoint(path), deferred=pending
    )
    try:
        proof = _proof(request, path, deferred=pending)
    except dpop.DPoPError:
        if pending and pending[0].key not in replay.record(pending[:1]):
            raise client_auth.replayed() from None
        raise
    if pending:
        fresh = replay.record(pending)
        for entry in pending:
            if entry.key not in fresh:
                raise client_auth.replayed() if entry.purpose == "client_assertion" else dpop.replayed()
    return client, proof


# --- metadata -----------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def openid_configuration(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(discovery.metadata())
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_http_methods(["GET", "HEAD"])
def jwks_view(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(jwks.jwks_document())
    response["Cache-Control"] = f"public, max-age={int(config.SIGNING_KEYS_CACHE_SECONDS)}"
    return response


# --- PAR, token, introspection, revocation ---------------------------------------------------------------------


@_endpoint
@require_POST
def par_view(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    client, proof = _client_and_proof(request, form, "/oidc/par")
    jkt = form.get("dpop_jkt", "")
    if proof is not None:
        if jkt and jkt != proof.jkt:
            raise OAuthError(INVALID_DPOP_PROOF, "dpop_jkt does not match the DPoP proof's key")
        jkt = proof.jkt
    par.check_push(form, client)
    try:
        authorize.parse(form, client)
    except authorize.UnsafeRedirect as e:
        raise OAuthError(e.error, e.description) from None
    stored = par.store(form, client, pushed=True, dpop_jkt=jkt)
    headers = {"DPoP-Nonce": dpop.current_nonce()}
    return _json({"request_uri": par.request_uri_of(stored), "expires_in": config.REQUEST_URI_LIFETIME}, 201, headers)


@_endpoint
@require_POST
def token_view(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    client, proof = _client_and_proof(request, form, "/oidc/token")
    grant_type = form.get("grant_type")
    if grant_type in ("authorization_code", "refresh_token", token_exchange.GRANT_TYPE):
        body = _grant(request, client, form, proof)
    elif grant_type == "client_credentials":
        body = client_credentials.issue(client, form, proof)
    else:
        raise OAuthError(
            UNSUPPORTED_GRANT_TYPE, "grant_type must be authorization_code, refresh_token or client_credentials"
        )
    return _json(body, headers={"DPoP-Nonce": dpop.current_nonce()})


def _grant(request: HttpRequest, client: Client, form: dict[str, str], proof: Any) -> dict[str, Any]:
    """A code exchange or a refresh, under the per-client limit on refused grants (``client_limits``)."""
    public, ip = client.auth_method == Client.AuthMethod.NONE, ratelimit.client_ip(request)
    client_limits.check_grants(client.client_id, public, ip, getattr(request, "oidc_limits", None))
    try:
        if form.get("grant_type") == "authorization_code":
            return tokens.exchange_code(client, form, proof)
        if form.get("grant_type") == token_exchange.GRANT_TYPE:  # RFC 8693 (docs/protocols/token-exchange.md)
            return token_exchange.exchange(client, form, proof)
        return refresh.refresh(client, form, proof)
    except OAuthError as error:
        if error.error == INVALID_GRANT:
            client_limits.grant_refused(client.client_id, public, ip)
        raise


@_endpoint
@require_POST
def introspect_view(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    client = _authenticate(request, form, "/oidc/introspect")
    return _json(introspection.introspect(client, form))


@_endpoint
@require_POST
def revoke_view(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    client = _authenticate(request, form, "/oidc/revoke")
    revocation.revoke(client, form)
    return _json({})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def userinfo_view(request: HttpRequest) -> HttpResponse:
    try:
        body = userinfo.userinfo(
            request.headers.get("Authorization"),
            request.headers.get("DPoP"),
            method=request.method or "GET",
            uri=config.endpoint("/oidc/userinfo"),
        )
    except OAuthError as error:
        return _error(error, resource=True)
    return _json(body, headers={"DPoP-Nonce": dpop.current_nonce()})


# --- the authorization endpoint and consent -----------------------------------------------------------------------


def _error_page(request: HttpRequest, error: OAuthError) -> HttpResponse:
    return render(request, "oidc/error.html", {"error": error.error, "description": error.description}, status=400)


def _redirect(location: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(location)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # OIDC Core §3.1.2.1: the authorization endpoint accepts GET and form POST from any site
@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    try:
        params = _single(request.GET if request.method == "GET" else request.POST)
    except OAuthError as error:
        return _error_page(request, error)
    client = get_client(params.get("client_id"))
    if client is None:
        return _error_page(request, OAuthError(INVALID_CLIENT, "unknown client_id"))
    try:
        if "request_uri" in params:
            stored = par.resolve(params["request_uri"], client)
            parsed = authorize.parse(stored.params, client)
        else:
            redirect_uri = authorize.check_redirect_uri(client, params.get("redirect_uri"))
            try:
                if client.require_par:
                    raise OAuthError(INVALID_REQUEST, "this client must use pushed authorization requests (PAR)")
                parsed = authorize.parse(params, client)
            except authorize.UnsafeRedirect:
                raise
            except OAuthError as error:
                raise authorize.ErrorRedirect(
                    error.error, error.description, redirect_uri, params.get("state")
                ) from None
            stored = par.store(params, client, pushed=False)
    except authorize.ErrorRedirect as error:
        return _redirect(error.location)
    except OAuthError as error:
        return _error_page(request, error)
    return _proceed(request, client, stored, parsed)


def _proceed(
    request: HttpRequest, client: Client, stored: PushedRequest, parsed: authorize.AuthorizationRequest
) -> HttpResponse:
    current = current_authentication(request)
    reason = authorize.login_reason(parsed, stored, current)
    if reason:
        if "none" in parsed.prompt:
            error = INTERACTION_REQUIRED if reason == "step_up" else LOGIN_REQUIRED
            return _redirect(authorize.refuse(parsed, stored, error, "the resident must log in"))
        card = parsed.required_level is not None and parsed.required_level >= Level.CARD
        page = reverse("login_card" if card else "login")
        return _redirect(f"{page}?{urlencode({'next': authorize.continue_path(stored)})}")
    assert current is not None
    known = consent.decisions(current.account, client)
    if consent.needs_prompt(parsed.requested, known, forced="consent" in parsed.prompt):
        if "none" in parsed.prompt:
            return _redirect(authorize.refuse(parsed, stored, CONSENT_REQUIRED, "the resident must consent"))
        waiting = guardian_consent(request, current.account, client, parsed.requested)
        if waiting is not None:  # a child's consent screen goes to the guardian (docs/guardians.md)
            return waiting
        consent_page = render(
            request,
            "oidc/consent.html",
            {
                "client": client,
                "rows": claim_rows(parsed.requested, known),
                "request_uri": par.request_uri_of(stored),
                "level": current.level,
            },
        )
        return allow_form_targets(consent_page, parsed.redirect_uri)
    granted = consent.granted(parsed.requested, known)
    try:
        location = authorize.issue_code(parsed, stored, current, granted, request.session.session_key)
    except OAuthError as error:
        return _error_page(request, error)
    return _redirect(location)


@require_POST
def consent_view(request: HttpRequest) -> HttpResponse:
    """The consent form's answer (CSRF-protected: only our own page can post it)."""
    client = get_client(request.POST.get("client_id"))
    if client is None:
        return _error_page(request, OAuthError(INVALID_CLIENT, "unknown client_id"))
    try:
        stored = par.resolve(request.POST.get("request_uri", ""), client)
        parsed = authorize.parse(stored.params, client)
    except OAuthError as error:
        return _error_page(request, error)
    current = current_authentication(request)
    if authorize.login_reason(parsed, stored, current):
        return _redirect(authorize.continue_path(stored))
    assert current is not None
    if request.POST.get("decision") != "allow":
        return _redirect(authorize.refuse(parsed, stored, ACCESS_DENIED, "the resident declined"))
    waiting = guardian_consent(request, current.account, client, parsed.requested)
    if waiting is not None:  # a child cannot give consent: the guardian approves
        return waiting
    optional = {claim for claim, essential in parsed.requested.essential.items() if not essential}
    chosen = set(request.POST.getlist("claim")) & optional
    granted = consent.record(current.account, client, parsed.requested, chosen)
    try:
        location = authorize.issue_code(parsed, stored, current, granted, request.session.session_key)
    except OAuthError as error:
        return _error_page(request, error)
    return _redirect(location)


# --- logout -------------------------------------------------------------------------------------------------------


def _after_logout(request: HttpRequest, parsed: logout.LogoutRequest) -> HttpResponse:
    if parsed.post_logout_redirect_uri:
        target = parsed.post_logout_redirect_uri
        if parsed.state is not None:
            target += ("&" if "?" in target else "?") + urlencode({"state": parsed.state})
        return _redirect(target)
    return render(request, "oidc/logged_out.html", {"client": parsed.client})


def _end_session(request: HttpRequest) -> None:
    sid = authorize.session_sid(request.session.session_key)
    account = getattr(request, "user", None)
    log_out(request)
    ssf_hooks.session_ended(account, sid)
    logout.notify_clients(sid)


@csrf_exempt  # RP-Initiated Logout §2: the RP may send the resident here by GET or by form POST
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    try:
        params = _single(request.GET if request.method == "GET" else request.POST)
    except OAuthError as error:
        return _error_page(request, error)
    parsed = logout.parse(params)
    current = current_authentication(request)
    if current is None:
        return _after_logout(request, parsed)
    if logout.hint_matches(parsed, current.account.pk):
        _end_session(request)
        return _after_logout(request, parsed)
    page = render(request, "oidc/logout_confirm.html", {"client": parsed.client, "params": json.dumps(params)})
    return allow_form_targets(page, parsed.post_logout_redirect_uri)


@require_POST
def logout_confirm_view(request: HttpRequest) -> HttpResponse:
    try:
        params = untrusted_json.loads(request.POST.get("params", "{}"))
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise ValueError
    except ValueError:
        params = {}
    parsed = logout.parse(params)
    if current_authentication(request) is not None and request.POST.get("decision") == "logout":
        _end_session(request)
        return _after_logout(request, parsed)
    return _redirect(reverse("selfservice"))


# --- self-service ---------------------------------------------------------------------------------------------


@require_POST
@requires_level(Level.DERIVED)
def withdraw_consent_view(request: HttpRequest, client_id: str) -> HttpResponse:
    """From /me/: withdraw every consent given to one service; its tokens stop working at once."""
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    client = Client.objects.filter(client_id=client_id).first()
    if client is None:
        messages.error(request, _("No such service. Nothing was changed."))
    else:
        consent.withdraw(current.account, client)
        messages.success(request, _("Consent withdrawn. The service no longer receives your information."))
    return _redirect(reverse("selfservice"))
