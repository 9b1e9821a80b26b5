"""The health points app's business (docs/health-points.md): walkers, walking days and points, the link to the local
currency, and awards credited there with an exchanged token.

- Login with AnchorID asks for nothing but ``openid``: the walker is its pairwise ``sub`` here. The refresh token is
  kept sealed (Fernet, a key derived from the server's secret key) so awards can be credited while the resident is
  away (the retry job).
- An award is persisted ``pending`` with a transfer id chosen here **before** any call. Delivering it: refresh the
  walker's access token, exchange it at the idp for a token toward the currency (RFC 8693: audience ``currency``,
  scope ``currency:credit``; DPoP-bound to this app's key), ``POST /api/v1/credits`` with DPoP. The currency's
  ``created`` or ``exists`` settles it ``done``; the currency's refusal of the credit (the monthly cap...) settles it
  ``refused`` and the points are free again, as does a refused exchange or token (no live link: ``invalid_grant``,
  ``invalid_token``) when no request had left yet; after one had (its answer was lost: the currency may have paid
  it) such a refusal holds the award (``held``) for a person to look at; no answer keeps it ``pending`` for the
  retry job (``anchorid providers health award-pending``), which sends the same id again: the currency pays once.
- The app never sees the currency's ``sub``: the exchanged token has none (docs/protocols/token-exchange.md §4), and
  the currency's answers name only the transfer.
"""

from __future__ import annotations

import base64
import datetime
import functools
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from anchorid.common import config, untrusted_json
from anchorid.common.rp.client import AnchorIDClient, LoginError
from anchorid.providersim.models import Award, Walker, WalkingDay
from anchorid.providersim.providers import HEALTH

log = logging.getLogger(__name__)

STEPS_PER_POINT = 1_000
MAX_STEPS = 100_000
#: How far back a walk may be recorded.
MAX_DAYS_BACK = 31
OFFER = "health-to-currency"
AUDIENCE = "currency"
CREDIT_SCOPE = "currency:credit"
CREDITS_PATH = "/api/v1/credits"
#: Refusals that mean "no live link" (the exchange or the currency said so): nothing was or will be paid.
NO_LINK = frozenset({"invalid_grant", "invalid_target", "unauthorized_client", "invalid_scope", "invalid_token"})
_SEAL_INFO = b"anchorid health points refresh token v1"


class AwardError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- sealed refresh tokens -----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _cipher(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(token: str) -> str:
    return _cipher(str(settings.SECRET_KEY)).encrypt(token.encode()).decode("ascii")


def unseal(sealed: str) -> str | None:
    try:
        return _cipher(str(settings.SECRET_KEY)).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None


# -- walkers and points ----------------------------------------------------------------------------------------------


def client() -> AnchorIDClient:
    from anchorid.providersim.customers import client as provider_client

    return provider_client(HEALTH.slug)


def join(sub: str, token: dict[str, Any]) -> Walker:
    """The walker for this pairwise ``sub`` (created at the first login), keeping the latest refresh token sealed."""
    refresh_token = str(token.get("refresh_token") or "")
    walker, _ = Walker.objects.get_or_create(sub=sub)
    if refresh_token:
        Walker.objects.filter(pk=walker.pk).update(sealed_refresh_token=seal(refresh_token))
    return walker


def record_walk(walker: Walker, day: datetime.date, steps: int) -> WalkingDay:
    """Steps on ``day`` (today or up to a month back; 0 to 100,000): 1 point per 1,000 steps. A day recorded again
    is corrected, but never below the points already awarded."""
    today = timezone.localdate()
    if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= MAX_STEPS:
        raise AwardError("invalid_steps")
    if not today - datetime.timedelta(days=MAX_DAYS_BACK) <= day <= today:
        raise AwardError("invalid_day")
    with transaction.atomic():
        Walker.objects.select_for_update().filter(pk=walker.pk).first()
        walk, created = WalkingDay.objects.get_or_create(
            walker=walker, day=day, defaults={"steps": steps, "points": steps // STEPS_PER_POINT}
        )
        if not created:
            walk.steps, walk.points = steps, steps // STEPS_PER_POINT
            walk.save(update_fields=["steps", "points"])
            if available(walker) < 0:  # the exception undoes the correction with the transaction
                raise AwardError("already_awarded")
    return walk


def earned(walker: Walker) -> int:
    return int(WalkingDay.objects.filter(walker=walker).aggregate(total=Sum("points"))["total"] or 0)


def awarded(walker: Walker) -> int:
    """Points that went (or may have gone) to the wallet: every award but the refused ones."""
    awards = Award.objects.filter(walker=walker).exclude(state=Award.REFUSED)
    return int(awards.aggregate(total=Sum("points"))["total"] or 0)


def available(walker: Walker) -> int:
    return earned(walker) - awarded(walker)


def new_award(walker: Walker, points: int) -> Award:
    """Persist the award (``pending``, with its transfer id) before anything is sent."""
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise AwardError("invalid_points")
    with transaction.atomic():
        Walker.objects.select_for_update().filter(pk=walker.pk).first()
        if points > available(walker):
            raise AwardError("not_enough_points")
        return Award.objects.create(id=f"award-{secrets.token_urlsafe(18)}", walker=walker, points=points)


# -- the link and the award ------------------------------------------------------------------------------------------


def link_url(state: str) -> str:
    """The idp's consent page for the link health → currency; the resident comes back to our callback."""
    query = urlencode({"offer": OFFER, "return_to": client().config.redirect_uri, "state": state})
    return f"{client().config.issuer}/links/consent/?{query}"


def _access_token(walker: Walker) -> str:
    refresh_token = unseal(walker.sealed_refresh_token) if walker.sealed_refresh_token else None
    if not refresh_token:
        raise AwardError("login_required")
    token = client().refresh({"refresh_token": refresh_token, "token_type": "DPoP", "access_token": ""})
    rotated = token.get("refresh_token")
    if rotated and rotated != refresh_token:
        Walker.objects.filter(pk=walker.pk).update(sealed_refresh_token=seal(str(rotated)))
    return str(token["access_token"])


@dataclass(frozen=True)
class Delivery:
    state: str
    outcome: str


def _settle(award: Award, state: str, outcome: str) -> Delivery:
    Award.objects.filter(pk=award.pk, state=Award.PENDING).update(
        state=state, outcome=outcome[:64], settled_at=timezone.now()
    )
    return Delivery(state, outcome)


def deliver(award: Award) -> Delivery:
    """Try to credit the award once; what became of it (``pending`` when it should be tried again)."""
    award.refresh_from_db()
    if award.state != Award.PENDING:
        return Delivery(award.state, award.outcome)
    Award.objects.filter(pk=award.pk).update(attempts=award.attempts + 1)
    anchorid = client()
    try:
        access_token = _access_token(award.walker)
        exchanged = anchorid.exchange_token(subject_token=access_token, audience=AUDIENCE, scope=CREDIT_SCOPE)
    except AwardError as error:
        return _refuse(award, error.code)
    except LoginError as error:
        if error.code in NO_LINK:
            return _refuse(award, error.code)
        log.info("award %s: the idp did not answer (%s); it stays pending", award.pk, error.code)
        return Delivery(Award.PENDING, error.code)
    if award.sent_at is None:
        Award.objects.filter(pk=award.pk, sent_at=None).update(sent_at=timezone.now())
        award.refresh_from_db(fields=["sent_at"])
    url = config.HEALTH_CURRENCY_URL.value().rstrip("/") + CREDITS_PATH
    body = {"transfer_id": award.pk, "amount": award.points, "memo": "walking points"}
    try:
        response = anchorid.linked_request("POST", url, exchanged, json=body)
    except (requests.RequestException, LoginError) as error:
        log.info("award %s: the currency did not answer (%s); it stays pending", award.pk, type(error).__name__)
        return Delivery(Award.PENDING, "unavailable")
    return _answer(award, response)


def _answer(award: Award, response: requests.Response) -> Delivery:
    try:
        answer = untrusted_json.loads(response.content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    status = str(answer.get("status", ""))
    if response.status_code in (200, 201) and status in ("created", "exists") and answer.get("transfer_id") == award.pk:
        return _settle(award, Award.DONE, status)
    if response.status_code >= 500 or (response.status_code == 409 and answer.get("error") == "try_again"):
        return Delivery(Award.PENDING, f"http_{response.status_code}")
    token_error = _www_authenticate_error(response)
    if response.status_code in (401, 403) and token_error:  # the token was refused: the credit was not looked at
        return _refuse(award, token_error)
    # The currency looked at this transfer id and refused it (an earlier request with it would have been answered
    # "exists"): a definitive answer, the points are free again.
    return _settle(award, Award.REFUSED, str(answer.get("error") or f"http_{response.status_code}"))


def _www_authenticate_error(response: requests.Response) -> str:
    header = response.headers.get("WWW-Authenticate", "")
    marker = 'error="'
    if marker not in header:
        return ""
    start = header.index(marker) + len(marker)
    return header[start : header.find('"', start)]


def _refuse(award: Award, code: str) -> Delivery:
    """Refused: the points are free again if nothing had been sent; otherwise held (the earlier request's answer was
    lost and the currency may have paid it)."""
    award.refresh_from_db(fields=["sent_at"])
    log.info("award %s refused: %s", award.pk, code)
    return _settle(award, Award.HELD if award.sent_at else Award.REFUSED, code)


def deliver_pending(*, limit: int = 100) -> dict[str, int]:
    """The retry job: every pending award, oldest first, once each."""
    summary: dict[str, int] = {}
    for award in Award.objects.filter(state=Award.PENDING).order_by("created_at")[:limit]:
        delivered = deliver(award)
        summary[delivered.state] = summary.get(delivered.state, 0) + 1
    return summary
