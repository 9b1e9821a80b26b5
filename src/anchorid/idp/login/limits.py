"""Login rate limits (per IP and per account) and the message a limited resident reads.

Per IP: every finished login attempt (a whole office behind one NAT address fits comfortably).
Per account: every attempt that named the account -- a passkey whose id we know, a card whose certificate
belongs to it -- counted before the signature is checked, so a flood of attempts at one account stops even
when each would fail. Knowing a passkey's credential id is needed to spend that budget, and ids are not public.
"""

from __future__ import annotations

import math

from django.http import HttpRequest
from django.utils.translation import ngettext

from anchorid.idp import ratelimit
from anchorid.idp.accounts.models import Account
from anchorid.idp.ratelimit import Limit, RateLimited

LOGIN_PER_IP = Limit("login-ip", attempts=60, window_seconds=600)
LOGIN_PER_ACCOUNT = Limit("login-account", attempts=20, window_seconds=900)


def limit_ip(request: HttpRequest) -> None:
    """Count one login attempt from this address; raises ``RateLimited``."""
    ratelimit.hit(LOGIN_PER_IP, ratelimit.client_ip(request))


def limit_account(account: Account) -> None:
    """Count one login attempt at this account; raises ``RateLimited``."""
    ratelimit.hit(LOGIN_PER_ACCOUNT, str(account.pk))


def rate_limited_message(limited: RateLimited) -> str:
    minutes = max(1, math.ceil(limited.retry_after / 60))
    return ngettext(
        "Too many login attempts. Please wait %(minutes)d minute and try again.",
        "Too many login attempts. Please wait %(minutes)d minutes and try again.",
        minutes,
    ) % {"minutes": minutes}
