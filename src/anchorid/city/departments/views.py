"""The departments' pages: sharing the address with them through AnchorID, what each department holds and its
changes, and the push endpoint for AnchorID's events (RFC 8935)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from anchorid.city.departments import records
from anchorid.city.departments.models import RecordChange
from anchorid.common.rp.client import LoginError, PendingLogin
from anchorid.ssf_receiver.push import handle_push

log = logging.getLogger(__name__)

PENDING_KEY = "departments_pending"
SUB_KEY = "departments_sub"


@csrf_exempt  # server to server: the idp posts a signed SET with the stream's authorization, no cookie
@never_cache
def events(request: HttpRequest) -> HttpResponse:
    return handle_push(request, records.receiver())


@require_GET
@never_cache
def my_records(request: HttpRequest) -> HttpResponse:
    sub = request.session.get(SUB_KEY)
    labels = dict(RecordChange.Department.choices)
    held = [(code, labels[code], address) for code, address in records.records_of(sub)] if sub else []
    changes = list(RecordChange.objects.filter(sub=sub)[:50]) if sub else []
    context = {"connected": bool(sub), "held": held, "changes": changes, "anchorid_site_name": _("Kamakura City")}
    return render(request, "departments/records.html", context)


@require_POST
def connect(request: HttpRequest) -> HttpResponse:
    try:
        url, pending = records.client().start_login()
    except LoginError as error:
        log.warning("departments: sharing could not start: %s", error.code)
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect("departments_records")
    request.session[PENDING_KEY] = pending.as_dict()
    return HttpResponseRedirect(url)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop(PENDING_KEY, None)
    try:
        if not pending:
            raise LoginError("invalid_state", "nothing was started in this browser")
        login = records.client().finish_login(request.build_absolute_uri(), PendingLogin.from_dict(pending))
        address = login.userinfo.get("address")
        if not isinstance(address, dict) or not address.get("formatted"):
            raise LoginError("address_required", "the departments need the address")
    except LoginError as error:
        log.info("departments: sharing refused: %s", error.code)
        messages.error(request, _("Your address was not shared with the departments."))
        return redirect("departments_records")
    sub = str(login.id_token_claims["sub"])
    records.on_login(sub, login.userinfo)
    request.session.cycle_key()
    request.session[SUB_KEY] = sub
    messages.success(request, _("Your address is on file at the city's departments."))
    return redirect("departments_records")
