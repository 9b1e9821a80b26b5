"""Passkey pages and their JSON endpoints. Thin: the ceremonies live in ``ceremonies``."""

from __future__ import annotations

from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import anonymous_rows, untrusted_json
from anchorid.idp import metrics
from anchorid.idp.assurance import Level
from anchorid.idp.login.limits import limit_ip, rate_limited_message
from anchorid.idp.login.nextpage import safe_next
from anchorid.idp.passkeys import ceremonies
from anchorid.idp.passkeys.ceremonies import PasskeyRefused
from anchorid.idp.ratelimit import RateLimited
from anchorid.idp.sessions import (
    FRESH,
    AccountNotUsable,
    CurrentAuthentication,
    log_in,
    record_failed_login,
    requires_level,
)

#: Passkey ceremonies one address may start per 10 minutes: twice the logins it may finish (login-ip).
PASSKEY_OPTIONS_PER_ADDRESS = 120


def _options(options_json: str) -> HttpResponse:
    return HttpResponse(options_json, content_type="application/json")


def _refused(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _body(request: HttpRequest) -> str:
    try:
        return untrusted_json.request_body(request).decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _current(request: HttpRequest) -> CurrentAuthentication:
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    return current


@require_GET
@requires_level(Level.CARD, max_age=FRESH)
def register_page(request: HttpRequest) -> HttpResponse:
    return render(request, "passkeys/register.html", {"next": safe_next(request)})


@require_POST
@requires_level(Level.CARD, max_age=FRESH, json=True)
def register_options(request: HttpRequest) -> HttpResponse:
    return _options(ceremonies.registration_options(request.session, _current(request).account))


@require_POST
@requires_level(Level.CARD, max_age=FRESH, json=True)
def register_finish(request: HttpRequest) -> HttpResponse:
    name = unquote(request.headers.get("X-Passkey-Name", ""))  # the page sends it percent-encoded
    try:
        passkey = ceremonies.finish_registration(request.session, _current(request).account, _body(request), name)
    except PasskeyRefused as refusal:
        return _refused(refusal.code, refusal.message)
    return JsonResponse({"ok": True, "name": passkey.name, "redirect": safe_next(request)})


@require_GET
def login_page(request: HttpRequest) -> HttpResponse:
    return render(request, "passkeys/login.html", {"next": safe_next(request)})


@require_POST
def login_options(request: HttpRequest) -> HttpResponse:
    try:  # a challenge row (and a session row) for a caller nobody knows yet; above the login limit per address,
        # so that a resident who is over it reads the login limit's message, not this one
        anonymous_rows.cap(request, "passkey-challenge", per_address=PASSKEY_OPTIONS_PER_ADDRESS)
    except RateLimited as limited:
        response = _refused("rate_limited", anonymous_rows.capped_message(limited), status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    return _options(ceremonies.authentication_options(request.session))


@require_POST
def login_finish(request: HttpRequest) -> HttpResponse:
    try:
        limit_ip(request)
    except RateLimited as limited:
        metrics.login("passkey", "rate_limited")
        return _refused("rate_limited", rate_limited_message(limited), status=429)
    try:
        passkey, authentication = ceremonies.finish_authentication(request.session, _body(request))
        log_in(request, passkey.account, authentication, credential=f"passkey:{passkey.pk}")
    except PasskeyRefused as refusal:
        if refusal.account is not None:
            record_failed_login(refusal.account, "passkey")
        metrics.login("passkey", refusal.code)
        return _refused(refusal.code, refusal.message, status=429 if refusal.code == "rate_limited" else 400)
    except AccountNotUsable:
        metrics.login("passkey", "account_not_active")
        return _refused("account_not_active", ceremonies.account_suspended_message())
    metrics.login("passkey")
    return JsonResponse({"ok": True, "redirect": safe_next(request)})
