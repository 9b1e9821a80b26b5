"""Login pages: the choice, card login / step-up, the card-only emergency stop and resumption, logout.

Thin: challenges and checks in ``card``, the session in ``anchorid.idp.sessions``, account changes in
``anchorid.idp.selfservice.actions``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import anonymous_rows, untrusted_json
from anchorid.common.csp import CSP_HEADER
from anchorid.idp import metrics
from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN
from anchorid.idp.login import card
from anchorid.idp.login.card import CardRefused
from anchorid.idp.login.limits import limit_account, limit_ip, rate_limited_message
from anchorid.idp.login.nextpage import safe_next
from anchorid.idp.onboarding.views import helper_port, idp_origin
from anchorid.idp.ratelimit import RateLimited
from anchorid.idp.selfservice import actions
from anchorid.idp.sessions import AccountNotUsable, current_authentication, log_in, log_out, record_failed_login


@require_GET
def login_choice(request: HttpRequest) -> HttpResponse:
    return render(
        request, "login/choice.html", {"next": safe_next(request), "current": current_authentication(request)}
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    log_out(request)
    messages.success(request, _("You are logged out."))
    return redirect("login")


def _card_page(request: HttpRequest, purpose: str, complete_url: str, template: str) -> HttpResponse:
    try:  # each view opens a challenge row (and a session row) for a caller nobody knows yet
        anonymous_rows.cap(request, "card-challenge")
    except RateLimited as limited:
        message = anonymous_rows.capped_message(limited)
        response = render(request, "login/limited.html", {"message": message}, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    helper = f"http://127.0.0.1:{helper_port()}"
    origin = idp_origin(request)
    response = render(
        request,
        template,
        {
            "challenge": card.open_challenge(request.session, origin, purpose),
            "helper_url": helper,
            "complete_url": complete_url,
            "idp_origin": origin,
            "next": safe_next(request),
            "current": current_authentication(request),
        },
    )
    # This page's script talks to the card helper on localhost; widen connect-src for it alone.
    response[CSP_HEADER] = (
        "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; "
        f"connect-src 'self' {helper} http://localhost:{helper_port()}"
    )
    return response


@require_GET
@ensure_csrf_cookie
def card_login_page(request: HttpRequest) -> HttpResponse:
    return _card_page(request, "card_login", reverse("login_card_complete"), "login/card.html")


@require_GET
@ensure_csrf_cookie
def card_stop_page(request: HttpRequest) -> HttpResponse:
    return _card_page(request, "card_stop", reverse("card_stop_complete"), "login/card_stop.html")


@require_GET
@ensure_csrf_cookie
def card_resume_page(request: HttpRequest) -> HttpResponse:
    return _card_page(request, "card_resume", reverse("card_resume_complete"), "login/card_resume.html")


#: The login metrics' method of each card purpose.
_METRIC_METHODS = {"card_login": "card", "card_stop": "card_stop", "card_resume": "card_resume"}


def _complete(request: HttpRequest, purpose: str, then: Callable[[Account], str]) -> JsonResponse:
    """Verify the card's answer for ``purpose``, find its account, then do ``then`` (returns the next URL)."""
    account: Account | None = None
    method = _METRIC_METHODS[purpose]
    try:
        limit_ip(request)
        verified = card.verify(
            request.session, untrusted_json.request_body(request)[: 64 * 1024], purpose, idp_origin(request)
        )
        account = card.account_for(verified)
        limit_account(account)
        next_url = then(account)
    except RateLimited as limited:
        metrics.login(method, "rate_limited")
        return JsonResponse({"error": "rate_limited", "message": rate_limited_message(limited)}, status=429)
    except CardRefused as refusal:
        metrics.login(method, refusal.code)
        return JsonResponse(refusal.as_json(), status=refusal.status)
    except AccountNotUsable:
        assert account is not None
        record_failed_login(account, "card")
        metrics.login(method, "account_suspended")
        return JsonResponse(
            {
                "error": "account_suspended",
                "message": _("Your account is stopped. Resume it with your card first."),
                "resume": reverse("card_resume"),
            },
            status=403,
        )
    metrics.login(method)
    return JsonResponse({"ok": True, "redirect": next_url})


@require_POST
def card_login_complete(request: HttpRequest) -> JsonResponse:
    def then(account: Account) -> str:
        log_in(request, account, CARD_LOGIN)
        return safe_next(request)

    return _complete(request, "card_login", then)


@require_POST
def card_stop_complete(request: HttpRequest) -> JsonResponse:
    def then(account: Account) -> str:
        actions.suspend_account(account, channel="card")
        log_out(request)
        messages.success(
            request,
            _("Your account is stopped: no one can log in with it until you resume it with your My Number Card."),
        )
        return reverse("emergency_stop")

    return _complete(request, "card_stop", then)


@require_POST
def card_resume_complete(request: HttpRequest) -> JsonResponse:
    def then(account: Account) -> str:
        log_in(request, actions.resume_account(account), CARD_LOGIN)
        messages.success(request, _("Your account is active again. Stopped passkeys can be resumed one by one below."))
        return reverse("selfservice")

    return _complete(request, "card_resume", then)
