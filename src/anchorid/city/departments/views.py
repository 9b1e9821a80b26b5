"""The departments' pages: the push endpoint for AnchorID's events (RFC 8935) and, for a logged-in resident, what
each department holds and its changes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from anchorid.city import login as anchorid_login
from anchorid.city.departments import records
from anchorid.city.departments.models import RecordChange
from anchorid.city.models import ResidentSession
from anchorid.ssf_receiver.push import handle_push


@csrf_exempt  # server to server: the idp posts a signed SET with the stream's authorization, no cookie
@never_cache
def events(request: HttpRequest) -> HttpResponse:
    return handle_push(request, records.receiver())


@require_GET
@never_cache
def my_records(request: HttpRequest) -> HttpResponse:
    if not anchorid_login.logged_in(request.session) or not request.session.session_key:
        return redirect("city_home")
    sub = ResidentSession.objects.filter(session_key=request.session.session_key).values_list("sub", flat=True).first()
    if sub is None:
        return redirect("city_home")
    labels = dict(RecordChange.Department.choices)
    held = [(code, labels[code], address) for code, address in records.records_of(sub)]
    changes = RecordChange.objects.filter(sub=sub)[:50]
    context = {"held": held, "changes": changes, "anchorid_site_name": _("Kamakura City")}
    return render(request, "departments/records.html", context)
