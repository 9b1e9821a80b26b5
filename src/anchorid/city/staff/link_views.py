"""The resident's side of the counter: enter the link code handed over at the counter, once logged in with
AnchorID, so the city attaches what staff did on their behalf to their login (``counter.link_account``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anchorid.city import login as anchorid_login
from anchorid.city.staff import counter

#: Wrong codes one login may try per hour (the code space is 2^60; this keeps logs and the database quiet).
ATTEMPTS_PER_HOUR = 10


@require_POST
def link(request: HttpRequest) -> HttpResponse:
    login = anchorid_login.logged_in(request.session)
    sub = str((login or {}).get("claims", {}).get("sub", ""))
    if not sub:
        messages.info(request, _("Please log in with AnchorID first."))
        return redirect("city_home")
    key = f"city-link-attempts:{counter.hash_text(sub)}"
    attempts = cache.get(key, 0)
    if attempts >= ATTEMPTS_PER_HOUR:
        messages.error(request, _("Too many wrong codes. Please try again in an hour, or ask at the counter."))
        return redirect("city_home")
    try:
        counter.link_account(request.POST.get("code", "")[:40], sub)
    except counter.CounterError as error:
        cache.set(key, attempts + 1, 3600)
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your counter registration is now linked to your AnchorID login."))
    return redirect("city_home")
