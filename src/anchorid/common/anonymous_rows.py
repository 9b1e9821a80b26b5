"""Caps on rows anonymous callers make: one address, and everyone together, may open only so many.

A challenge, a card-login page (a challenge row and a session row), a passkey ceremony: each is a row written
for a caller nobody knows yet. Without a cap one address fills the table (600 challenge rows in a minute was
enough to show it). Each family of such endpoints has

- a per-address cap (``<family>-ip``); IPv6 addresses are counted by their /64, which one subscriber holds whole,
  so rotating through one's own prefix makes no new budget;
- a cap for everyone together (``<family>-all``) that bounds the rows made per window whatever the number of
  addresses; it is set far above any real peak, since reaching it refuses everyone until the window ends.

Both are ordinary rate limits (``anchorid.common.ratelimit``), so they are shared by every worker and can be
changed by name (``ANCHORID_RATE_LIMITS``). The rows themselves expire and are pruned by the code that makes
them; the caps keep what can pile up between two prunes bounded.
"""

from __future__ import annotations

import ipaddress
import math

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from anchorid.common import ratelimit
from anchorid.common.ratelimit import Limit, RateLimited

PER_ADDRESS_ATTEMPTS = 60
EVERYONE_ATTEMPTS = 20_000
WINDOW_SECONDS = 600


def limits(family: str, per_address: int = PER_ADDRESS_ATTEMPTS) -> tuple[Limit, Limit]:
    """The per-address and the everyone-together limit of ``family``."""
    return (
        Limit(f"{family}-ip", attempts=per_address, window_seconds=WINDOW_SECONDS),
        Limit(f"{family}-all", attempts=EVERYONE_ATTEMPTS, window_seconds=WINDOW_SECONDS),
    )


def address_key(address: str) -> str:
    """The address as counted: IPv4 as is, IPv6 by its /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def cap(request: HttpRequest, family: str, *, per_address: int = PER_ADDRESS_ATTEMPTS) -> None:
    """Count one new anonymous row of ``family`` from this caller; raises ``RateLimited`` over either cap (nothing
    should be written then)."""
    per_address_limit, everyone = limits(family, per_address)
    ratelimit.hit(per_address_limit, address_key(ratelimit.client_ip(request)))
    ratelimit.hit(everyone, "*")


def limited_page(request: HttpRequest, limited: RateLimited, *, back: str = "") -> HttpResponse:
    """The 429 page of a capped browser request (JSON endpoints answer their own error)."""
    context = {"message": capped_message(limited), "back": back}
    response = render(request, "anchorid/limited.html", context, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


def capped_message(limited: RateLimited) -> str:
    minutes = max(1, math.ceil(limited.retry_after / 60))
    return ngettext(
        "Too many requests. Please wait %(minutes)d minute and try again.",
        "Too many requests. Please wait %(minutes)d minutes and try again.",
        minutes,
    ) % {"minutes": minutes}
