"""Onboarding pages and endpoints; thin: the logic is in challenges, verification and enrollment.

- ``GET  /onboarding/``: the page; opens a challenge bound to this browser session, with a cross-device code.
- ``POST /onboarding/complete/``: the page posts what the local card helper returned (JSON, CSRF header).
- ``GET  /onboarding/status/?challenge=...``: the page polls a cross-device attempt; logs this session in once.
- ``GET  /onboarding/device/<code>/``: a card helper on another machine fetches the challenge the code names; a
  browser (a phone's camera app opening the QR code) gets a page saying how to finish with the card helper.
- ``POST /onboarding/device/<code>/``: ... and posts the certificate and signature (no cookie, no CSRF: the code
  is the credential, single use, five minutes).
"""

from __future__ import annotations

import logging
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common import config, untrusted_json
from anchorid.common.csp import CSP_HEADER
from anchorid.common.negotiation import private_page, wants_page
from anchorid.idp import metrics, ratelimit
from anchorid.idp.assurance import CARD_LOGIN
from anchorid.idp.onboarding import challenges, refusals
from anchorid.idp.onboarding.enrollment import Enrollment, Method, Outcome, enroll
from anchorid.idp.onboarding.models import OnboardingChallenge
from anchorid.idp.onboarding.refusals import Refusal
from anchorid.idp.onboarding.verification import MAX_BODY_BYTES, parse_submission, verify_card_signature
from anchorid.idp.sessions import AccountNotUsable, log_in

logger = logging.getLogger(__name__)

DEFAULT_HELPER_PORT = 31519
#: Where a resident goes right after onboarding: register a passkey, so the card is not needed every day.
NEXT_URL = "/passkeys/register/"

PER_IP = ratelimit.Limit("onboarding-ip", attempts=30, window_seconds=600)
PER_CERTIFICATE = ratelimit.Limit("onboarding-certificate", attempts=10, window_seconds=600)


def helper_port() -> int:
    return int(getattr(settings, "ANCHORID_CARD_HELPER_PORT", DEFAULT_HELPER_PORT))


def _limit(name: str, default: ratelimit.Limit) -> ratelimit.Limit:
    """``ANCHORID_ONBOARDING_LIMITS = {"ip": (attempts, seconds), "certificate": (attempts, seconds)}``."""
    configured = config.ONBOARDING_LIMITS.configured().get(name)
    if configured is None:
        return default
    attempts, seconds = configured
    return ratelimit.Limit(default.name, attempts=int(attempts), window_seconds=int(seconds))


def idp_origin(request: HttpRequest) -> str:
    configured = getattr(settings, "ANCHORID_IDP_ORIGIN", None)
    return str(configured).rstrip("/") if configured else f"{request.scheme}://{request.get_host()}"


def _refused(refusal: Refusal) -> JsonResponse:
    logger.info("onboarding refused: %s", refusal.code)  # the code only: details may name the certificate
    response = JsonResponse(refusal.as_json(), status=refusal.status)
    if refusal.code == refusals.RATE_LIMITED:
        response["Retry-After"] = str(refusal.params.get("seconds", 60))
    return response


def _hit(limit: ratelimit.Limit, key: str) -> None:
    try:
        ratelimit.hit(limit, key)
    except ratelimit.RateLimited as error:
        minutes = max(1, (error.retry_after + 59) // 60)
        raise Refusal(refusals.RATE_LIMITED, seconds=error.retry_after, minutes=minutes) from None


def _body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal(refusals.MALFORMED_REQUEST, "bad Content-Length") from None
    if declared > MAX_BODY_BYTES:
        raise Refusal(refusals.REQUEST_TOO_LARGE)
    return untrusted_json.request_body(request)


def _outcome_message(outcome: Outcome) -> str:
    if outcome is Outcome.CREATED:
        return _("Your account has been created. Next, register a passkey so you can log in without the card.")
    if outcome is Outcome.RECOVERED:
        return _(
            "You already had an account: it is now linked to this new card. Next, register a passkey on this device."
        )
    return _("You already have an account, and you are now logged in with your card.")


def _success(enrollment: Enrollment) -> dict[str, Any]:
    return {"outcome": enrollment.outcome.value, "message": _outcome_message(enrollment.outcome), "next": NEXT_URL}


def _verify_and_enroll(request: HttpRequest, body: bytes, consume: Any, method: Method) -> Enrollment:
    submission = parse_submission(body)
    from anchorid.idp.jlis_client import certificate_fingerprint

    _hit(_limit("certificate", PER_CERTIFICATE), certificate_fingerprint(submission.certificate))
    row = consume(submission.challenge)
    try:
        verified = verify_card_signature(submission)
        enrollment = enroll(verified, method)
    except Refusal as refusal:
        challenges.record_result(row, OnboardingChallenge.Outcome.REFUSED, refusal_code=refusal.code)
        raise
    challenges.record_result(row, enrollment.outcome.value, account_id=enrollment.account.pk)
    return enrollment


@require_GET
@ensure_csrf_cookie
def start_view(request: HttpRequest) -> HttpResponse:
    try:
        _hit(_limit("ip", PER_IP), ratelimit.client_ip(request))
    except Refusal as refusal:
        return render(request, "onboarding/limited.html", {"message": refusal.message}, status=refusal.status)
    origin = idp_origin(request)
    opened = challenges.open_challenge(request.session, origin)
    device_url = f"{origin}/onboarding/device/{opened.code}/"
    qr = segno.make(device_url, error="m").svg_inline(scale=4, title=_("QR code for the card helper"))
    helper = f"http://127.0.0.1:{helper_port()}"
    response = render(
        request,
        "onboarding/start.html",
        {
            "challenge": opened.text,
            "nonce": opened.row.nonce,
            "code": opened.display_code,
            "device_url": device_url,
            "qr_svg": mark_safe(qr),  # noqa: S308 - segno's SVG of our own URL, no user input
            "helper_url": helper,
            "idp_origin": origin,
            "expires_at": opened.row.expires_at,
            "messages_by_code": refusals.MESSAGES,
        },
    )
    # Widen the CSP for this page only: its script talks to the card helper on localhost.
    response[CSP_HEADER] = (
        "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; "
        f"connect-src 'self' {helper} http://localhost:{helper_port()}"
    )
    return response


@require_POST
def complete_view(request: HttpRequest) -> JsonResponse:
    """The page posts ``{challenge, certificate, signature}`` from the local card helper."""
    origin = idp_origin(request)
    binding = challenges.session_binding(request.session)
    try:
        _hit(_limit("ip", PER_IP), ratelimit.client_ip(request))
        body = _body(request)
        enrollment = _verify_and_enroll(
            request,
            body,
            lambda text: challenges.consume(text, origin, binding=binding, via=Method.CARD.value),
            Method.CARD,
        )
        log_in(request, enrollment.account, CARD_LOGIN)
    except Refusal as refusal:
        metrics.onboarding(Method.CARD.value, None, refusal.code)
        return _refused(refusal)
    except AccountNotUsable:
        metrics.onboarding(Method.CARD.value, None, refusals.ACCOUNT_NOT_USABLE)
        return _refused(Refusal(refusals.ACCOUNT_NOT_USABLE))
    metrics.onboarding(Method.CARD.value, enrollment.outcome.value)
    return JsonResponse(_success(enrollment), status=201 if enrollment.outcome is Outcome.CREATED else 200)


def _device_page(request: HttpRequest, code: str, url: str) -> HttpResponse:
    """What a browser shows for the cross-device code's URL: how to finish with the card helper on this device,
    never the challenge itself (only the card helper signs it)."""
    try:
        row = challenges.find_by_code(code)
    except Refusal as refusal:
        context: dict[str, object] = {"message": refusal.message}
        return private_page(render(request, "onboarding/device.html", context, status=refusal.status))
    context = {"code": code, "url": url, "expires_at": row.expires_at}
    return private_page(render(request, "onboarding/device.html", context))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def device_view(request: HttpRequest, code: str) -> HttpResponse:
    """The cross-device card helper: GET the challenge for ``code``, POST the card's answer; a browser (the QR code
    scanned by a phone) gets a page that says what to do instead."""
    origin = idp_origin(request)
    try:
        _hit(_limit("ip", PER_IP), ratelimit.client_ip(request))
        if request.method == "GET" and wants_page(request):  # a phone opened the QR code
            return _device_page(request, code, f"{origin}/onboarding/device/{challenges.normalize_code(code)}/")
        if request.method == "GET":
            row = challenges.find_by_code(code)
            return JsonResponse(
                {
                    "challenge": challenges.challenge_text(row.origin, row.nonce),
                    "origin": row.origin,
                    "expires_at": row.expires_at.isoformat(),
                }
            )
        body = _body(request)
        enrollment = _verify_and_enroll(
            request,
            body,
            lambda text: challenges.consume(text, origin, code=code, via=Method.CARD_CROSS_DEVICE.value),
            Method.CARD_CROSS_DEVICE,
        )
    except Refusal as refusal:
        if request.method == "POST":  # a GET only fetches the challenge
            metrics.onboarding(Method.CARD_CROSS_DEVICE.value, None, refusal.code)
        return _refused(refusal)
    metrics.onboarding(Method.CARD_CROSS_DEVICE.value, enrollment.outcome.value)
    return JsonResponse(
        {
            "outcome": enrollment.outcome.value,
            "message": _("Done. Return to the browser that shows the code."),
        },
        status=201 if enrollment.outcome is Outcome.CREATED else 200,
    )


@require_GET
def status_view(request: HttpRequest) -> JsonResponse:
    """The page polls its cross-device attempt; the first poll after success logs this session in."""
    binding = challenges.session_binding(request.session)
    nonce = request.GET.get("challenge", "")
    row = OnboardingChallenge.objects.filter(nonce=nonce[:64], session_binding=binding).first()
    if row is None:
        return _refused(Refusal(refusals.CHALLENGE_UNKNOWN))
    if row.outcome == OnboardingChallenge.Outcome.REFUSED:
        return _refused(
            Refusal(row.refusal_code) if row.refusal_code in refusals.MESSAGES else Refusal("malformed_request")
        )
    if not row.outcome or row.account_id is None:
        if row.expires_at <= timezone.now() and row.used_at is None:
            return _refused(Refusal(refusals.CHALLENGE_EXPIRED))
        return JsonResponse({"state": "pending"})
    with transaction.atomic():
        delivered = OnboardingChallenge.objects.filter(pk=row.pk, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
    if not delivered:
        return _refused(Refusal(refusals.CHALLENGE_REPLAYED))
    assert row.account is not None
    try:
        log_in(request, row.account, CARD_LOGIN)
    except AccountNotUsable:
        return _refused(Refusal(refusals.ACCOUNT_NOT_USABLE))
    outcome = Outcome(row.outcome)
    return JsonResponse(
        {"state": "done", "outcome": outcome.value, "message": _outcome_message(outcome), "next": NEXT_URL}
    )
