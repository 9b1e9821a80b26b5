"""Password logins (staff pages, Django admin) lock out guessers: per username and per address, with backoff.

A password can be guessed; a passkey or a card cannot. So every password login of every party counts its
failures in the shared rate-limit counters (``anchorid.common.ratelimit``) and refuses the next attempt, the right
password included, while a limit is used up:

- per username (normalised: case and surrounding spaces do not make a new budget): 5 failures in 15 minutes lock
  the name until the window ends; 20 failures in a day lock it until the day's window ends (the backoff: a
  guesser who waits out each 15-minute lock is slowed to 20 guesses a day);
- per address: 30 failures in 15 minutes lock every name from that address (one address trying many names).

A success forgets the username's 15-minute failures (a clerk's typo earlier does not count against them later);
the daily count and the address's count stay. A locked-out attempt is answered with HTTP 429 and says how long
to wait. A lock on a name can be used to keep its owner out for a while; staff then log in from the counter
machine after the window, or an administrator resets it (``anchorid.common.ratelimit.reset``).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from anchorid.common import ratelimit
from anchorid.common.ratelimit import Limit, RateLimited

FAILURES_PER_USERNAME = Limit("password-login-username", attempts=5, window_seconds=900)
FAILURES_PER_USERNAME_DAY = Limit("password-login-username-day", attempts=20, window_seconds=86400)
FAILURES_PER_IP = Limit("password-login-ip", attempts=30, window_seconds=900)

#: Set on the request when an attempt was refused for a lockout; the login view answers 429 then.
LOCKED_ATTRIBUTE = "anchorid_login_locked"


def _username_key(username: str) -> str:
    return username.strip().casefold()


def _limits(request: HttpRequest | None, username: str) -> list[tuple[Limit, str]]:
    limits = [(FAILURES_PER_USERNAME, _username_key(username)), (FAILURES_PER_USERNAME_DAY, _username_key(username))]
    if request is not None:
        limits.append((FAILURES_PER_IP, ratelimit.client_ip(request)))
    return limits


def check(request: HttpRequest | None, username: str) -> None:
    """Raise ``RateLimited`` (the longest wait) while this username or address is locked out."""
    locked: list[RateLimited] = []
    for limit, key in _limits(request, username):
        try:
            ratelimit.check(limit, key)
        except RateLimited as error:
            locked.append(error)
    if locked:
        raise max(locked, key=lambda error: error.retry_after)


def failed(request: HttpRequest | None, username: str) -> None:
    """Count one wrong password for this username and address."""
    for limit, key in _limits(request, username):
        with contextlib.suppress(RateLimited):  # already locked: the next attempt is refused by check()
            ratelimit.hit(limit, key)


def succeeded(username: str) -> None:
    ratelimit.reset(FAILURES_PER_USERNAME, _username_key(username))


def locked_message(limited: RateLimited) -> str:
    minutes = max(1, math.ceil(limited.retry_after / 60))
    return ngettext(
        "Too many failed logins. This login is locked; please try again in %(minutes)d minute.",
        "Too many failed logins. This login is locked; please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class LockoutMixin:
    """For a Django ``AuthenticationForm``: refuse while locked out, count wrong passwords, forget on success."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        if username:
            try:
                check(self.request, username)
            except RateLimited as limited:
                if self.request is not None:
                    setattr(self.request, LOCKED_ATTRIBUTE, True)
                raise forms.ValidationError(locked_message(limited), code="locked") from None
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError as error:
            if username and error.code in ("invalid_login", "inactive"):
                failed(self.request, username)
            raise
        succeeded(username)
        return cleaned


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


def answer_locked_with_429(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """A refused, locked-out attempt is answered with 429 Too Many Requests (the page still says why)."""
    if getattr(request, LOCKED_ATTRIBUTE, False):
        response.status_code = 429
    return response


class LockoutAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    pass


def protect_admin_site(site: AdminSite) -> None:
    """Django admin's login of ``site`` locks out guessers like the staff pages (called from the app's ready())."""
    site.login_form = LockoutAdminAuthenticationForm
    original = site.login

    def login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return answer_locked_with_429(original(request, extra_context), request)

    site.login = login  # type: ignore[method-assign]
