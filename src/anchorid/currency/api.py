"""The currency's API for linked services (docs/currency.md, "The API"): each call carries a token the idp
exchanged for the calling service (RFC 8693, docs/protocols/token-exchange.md), checked by the shared resource-server
verifier (signature, ``aud`` = the currency, DPoP, introspection at the idp for the member's pairwise ``sub`` and
whether the resident's link is still live).

- ``POST /api/v1/credits`` (scope ``currency:credit``): a partner (the token's ``act``) credits the member
  ``{"transfer_id": "...", "amount": 300, "memo": "..."}`` (integer yen) from its prepaid account, capped per month by
  the token's ``authorization_details`` (``anchorid_currency_credit``, ``max_yen_per_month``). 201 ``created``, 200
  ``exists`` (a retry of the same id: nothing paid again), 4xx with ``error`` otherwise; nothing written on a
  refusal.
- ``GET /api/v1/wallet`` (scope ``currency:balance``): the balance, the coins expiring within 30 days, and the open
  benefits the member is eligible for and has not claimed.

Answers are JSON, ``Cache-Control: no-store``; never a 5xx for bad input (the idp being unreachable is a 503).
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import untrusted_json
from anchorid.currency import partners, service
from anchorid.currency.models import Claim, Member, Programme
from anchorid.currency.service import Refused

CREDIT_SCOPE = "currency:credit"
BALANCE_SCOPE = "currency:balance"
CREDIT_DETAILS_TYPE = "anchorid_currency_credit"
MAX_BODY = 4096
EXPIRING_DAYS = 30

#: How each refusal is answered: HTTP status and a sentence for the calling service's developers.
REFUSALS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "the body must be a JSON object with transfer_id, amount and memo"),
    "invalid_transfer_id": (400, "transfer_id: 8 to 40 characters of A-Z a-z 0-9 _ -"),
    "invalid_amount": (400, f"amount: a whole number of yen from 1 to {partners.MAX_CREDIT}"),
    "invalid_memo": (400, f"memo: a string of at most {partners.MAX_MEMO} characters"),
    "invalid_cap": (403, "the token's authorization_details carry no valid anchorid_currency_credit cap"),
    "unknown_partner": (403, "the calling service is not a partner of the currency"),
    "not_a_member": (404, "the resident has no wallet at the currency yet"),
    "exists_with_different_fields": (409, "this transfer_id was used for another credit"),
    "try_again": (409, "a request with this transfer_id is being processed; retry"),
    "monthly_cap_exceeded": (422, "the credit would exceed the monthly cap the resident consented to"),
    "partner_funds_exhausted": (422, "the partner's prepaid account cannot pay this credit"),
    "exceeds_limit": (422, "the credit would take the wallet over its ceiling"),
}


def _refusal(code: str) -> JsonResponse:
    status, description = REFUSALS.get(code, (422, "the credit was refused"))
    return _json({"error": code, "error_description": description}, status=status)


def _json(body: dict[str, Any], *, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@functools.cache
def resource_server() -> Any:
    from anchorid.common.rp.resource_server import ResourceServer
    from anchorid.currency.login import client

    return ResourceServer(client())


def _verified(request: HttpRequest, scope: str) -> Any:
    """The verified token (``subject``, ``actor``, ``scopes``, ``authorization_details``), or a refusal response."""
    from anchorid.common.rp.resource_server import TokenRefused

    try:
        return resource_server().verify(request, scopes={scope})
    except TokenRefused as refused:
        response: HttpResponse = refused.response()
        response["Cache-Control"] = "no-store"
        return response


def monthly_cap(authorization_details: object) -> int | None:
    """``max_yen_per_month`` of the token's ``anchorid_currency_credit`` details (the lowest, if several)."""
    caps = [
        detail.get("max_yen_per_month")
        for detail in (authorization_details if isinstance(authorization_details, list) else [])
        if isinstance(detail, dict) and detail.get("type") == CREDIT_DETAILS_TYPE
    ]
    valid = [cap for cap in caps if isinstance(cap, int) and not isinstance(cap, bool)]
    return min(valid) if valid and len(valid) == len(caps) else None


@csrf_exempt  # server to server: a DPoP-bound token, no cookie
@never_cache
@require_POST
def credits(request: HttpRequest) -> HttpResponse:
    token = _verified(request, CREDIT_SCOPE)
    if isinstance(token, HttpResponse):
        return token
    if len(request.body) > MAX_BODY:
        return _refusal("invalid_request")
    try:
        body = untrusted_json.loads(request.body)
    except ValueError:
        return _refusal("invalid_request")
    if not isinstance(body, dict) or not {"transfer_id", "amount"} <= body.keys():
        return _refusal("invalid_request")
    cap = monthly_cap(token.authorization_details)
    try:
        credit = partners.credit(
            client_id=str(token.actor), sub=str(token.subject), transfer_id=body["transfer_id"],
            amount=body["amount"], memo=body.get("memo", ""), monthly_cap=cap if cap is not None else -1,
        )  # fmt: skip
    except Refused as refused:
        return _refusal(refused.code)
    answer = {
        "status": credit.status,
        "transfer_id": credit.transfer_id,
        "amount": credit.amount,
        "credited_at": credit.credited_at.isoformat(),
        "month_total": credit.month_total,
        "monthly_cap": cap,
    }
    return _json(answer, status=201 if credit.status == "created" else 200)


def _eligible(programme: Programme, member: Member) -> bool:
    if programme.resident_of != member.resident_of:
        return False
    return not programme.needs_age_over_65 or member.age_band == "65+"


@never_cache
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    token = _verified(request, BALANCE_SCOPE)
    if isinstance(token, HttpResponse):
        return token
    member = Member.objects.filter(sub=str(token.subject)).first()
    if member is None:
        return _refusal("not_a_member")
    now = timezone.now()
    holdings = service.holdings(member)
    soon = now + datetime.timedelta(days=EXPIRING_DAYS)
    claimed = set(Claim.objects.filter(sub=member.sub).values_list("programme_id", flat=True))
    programmes = Programme.objects.filter(opens_at__lte=now, closes_at__gt=now).order_by("pk")
    benefits = [
        {"id": p.pk, "name": p.name, "amount": p.amount, "closes_at": p.closes_at.isoformat(),
         "claim_url": request.build_absolute_uri("/")}
        for p in programmes
        if p.pk not in claimed and _eligible(p, member)
    ]  # fmt: skip
    return _json(
        {
            "currency": "JPY",
            "balance": sum(holding.amount for holding in holdings),
            "expiring_soon": [
                {"amount": holding.amount, "expires_at": holding.expires_at.isoformat(), "kind": holding.kind}
                for holding in holdings
                if holding.expires_at <= soon
            ],
            "unclaimed_benefits": benefits,
        }
    )
