"""The resident's side of the counter: enter the link code handed over at the counter, once logged in with
AnchorID, so the city attaches what staff did on their behalf to their login (``counter.link_account``)."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anchorid.city import login as anchorid_login
from anchorid.city.staff import counter
from anchorid.common import ratelimit

#: Wrong codes one login may try per hour (the code space is 2^60; this keeps logs and the database quiet).
ATTEMPTS_PER_HOUR = 10
#: Counted in the shared rate-limit counters, so every worker of the city sees the same count.
WRONG_CODES = ratelimit.Limit("city-link-code", attempts=ATTEMPTS_PER_HOUR, window_seconds=3600)


@require_POST
def link(request: HttpRequest) -> HttpResponse:
    login = anchorid_login.logged_in(request.session)
    sub = str((login or {}).get("claims", {}).get("sub", ""))
    if not sub:
        messages.info(request, _("Please log in with AnchorID first."))
        return redirect("city_home")
    key = counter.hash_text(sub)
    try:
        ratelimit.check(WRONG_CODES, key)
    except ratelimit.RateLimited:
        messages.error(request, _("Too many wrong codes. Please try again in an hour, or ask at the counter."))
        return redirect("city_home")
    try:
        counter.link_account(request.POST.get("code", "")[:40], sub)
    except counter.CounterError as error:
        with contextlib.suppress(ratelimit.RateLimited):
            ratelimit.hit(WRONG_CODES, key)
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your counter registration is now linked to your AnchorID login."))
    return redirect("city_home")
