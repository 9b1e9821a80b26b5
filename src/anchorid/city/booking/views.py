"""Resident pages of facility booking: facilities, a week of slots, book, pay, receipt, cancel; the simulated
payment provider's page and the payment callbacks.

Anyone may look at facilities and free slots; booking, paying and cancelling need a login with AnchorID. Errors
are shown on a page with the HTTP status of the error (409 "already taken", 403 outside the window, 404 a slot
or booking that does not exist or is not yours) and nothing is stored.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from functools import wraps
from typing import Any, Protocol

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.city import login as anchorid_login
from anchorid.city.booking import rules, service
from anchorid.city.booking.errors import BookingError, InvalidCallback, NotGroupMember
from anchorid.city.booking.models import Booking, CityUser, Facility, Group, Receipt, SimulatedCharge, Slot
from anchorid.city.booking.payments import SimulatedProvider, decode_payload, provider
from anchorid.common.display import yen

log = logging.getLogger(__name__)

SITE_NAME = "anchorid_site_name"
SIGNATURE_HEADER = "X-Anchorid-Signature"


class View(Protocol):
    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse: ...


def site(context: dict[str, Any]) -> dict[str, Any]:
    context.setdefault(SITE_NAME, _("Kamakura City"))
    context.setdefault("language", get_language())
    return context


def current_user(request: HttpRequest) -> CityUser | None:
    """The city user of the logged-in resident (registered at the login callback; created here for a session
    that predates it)."""
    login = anchorid_login.logged_in(request.session)
    if not login or "sub" not in login.get("claims", {}):
        return None
    user = CityUser.objects.filter(sub=str(login["claims"]["sub"])).first()
    return user or service.user_from_claims(login["claims"])


def login_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = current_user(request)
        if user is None:
            messages.info(request, _("Please log in with AnchorID to book facilities."))
            return redirect("city_home")
        request.city_user = user  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def error_page(request: HttpRequest, error: BookingError, back: str | None = None) -> HttpResponse:
    context = site({"message": error.message, "code": error.code, "back": back or reverse("booking_facilities")})
    return render(request, "booking/error.html", context, status=error.status)


def own_booking(request: HttpRequest, reference: str) -> Booking:
    booking = Booking.objects.select_related("slot__facility").filter(reference=reference).first()
    if booking is None or booking.user_id != request.city_user.pk:  # type: ignore[attr-defined]
        raise Http404()
    return booking


# -- facilities and slots -----------------------------------------------------------------------------------------


@require_GET
def facilities(request: HttpRequest) -> HttpResponse:
    """Facilities by kind, capacity and the date wanted; each with its next free slot from that date on."""
    kind = request.GET.get("kind", "")
    listed = Facility.objects.filter(is_active=True).order_by("kind", "name_ja")
    if kind in Facility.Kind.values:
        listed = listed.filter(kind=kind)
    capacity = request.GET.get("capacity", "")
    if capacity.isdigit() and 0 < int(capacity) < 100_000:
        listed = listed.filter(capacity__gte=int(capacity))
    else:
        capacity = ""
    today = timezone.now().astimezone(rules.JST).date()
    try:
        wanted = datetime.date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
    except ValueError:
        wanted = None
    user = current_user(request)
    found = [(item, next_free_slot(item, user, wanted or today)) for item in listed]
    context = {"facilities": found, "kinds": Facility.Kind.choices, "kind": kind, "capacity": capacity,
               "date": wanted.isoformat() if wanted else "", "today": today.isoformat(), "user": user}  # fmt: skip
    return render(request, "booking/facilities.html", site(context))


def next_free_slot(chosen: Facility, user: CityUser | None, day: datetime.date) -> Slot | None:
    """The first slot from ``day`` on that this resident could book now (free, not held for the lottery, open)."""
    now = timezone.now()
    start = max(datetime.datetime.combine(day, datetime.time(), rules.JST), now)
    window = service.window_for(user, chosen) if user else chosen.non_resident_window_days
    for slot in service.free_slots(chosen, start, now + datetime.timedelta(days=window + 1))[:200]:
        if not slot.held_for_lottery and rules.in_window(slot.starts_at, now, window):
            return slot
    return None


@require_GET
@never_cache
def facility(request: HttpRequest, facility_id: int) -> HttpResponse:
    chosen = get_object_or_404(Facility, pk=facility_id, is_active=True)
    today = timezone.now().astimezone(rules.JST).date()
    try:
        first = datetime.date.fromisoformat(request.GET.get("week", "")) if request.GET.get("week") else today
    except ValueError:
        first = today
    start = datetime.datetime.combine(first, datetime.time(), rules.JST)
    end = start + datetime.timedelta(days=7)
    user = current_user(request)
    now = timezone.now()
    window = service.window_for(user, chosen) if user else chosen.non_resident_window_days
    free = set(service.free_slots(chosen, start, end).values_list("pk", flat=True))
    days: dict[datetime.date, list[dict[str, Any]]] = defaultdict(list)
    for slot in Slot.objects.filter(facility=chosen, starts_at__gte=start, starts_at__lt=end).order_by("starts_at"):
        slot.facility = chosen  # one facility: no query per slot
        if slot.pk not in free:
            state = "taken"
        elif slot.held_for_lottery:
            state = "lottery"
        elif not rules.in_window(slot.starts_at, now, window):
            state = "closed"
        else:
            state = "free"
        fee = service.fee_for(user, slot).total_yen if user else slot.fee_yen
        days[slot.starts_at.astimezone(rules.JST).date()].append({"slot": slot, "state": state, "fee": fee})
    week = [first + datetime.timedelta(days=n) for n in range(7)]
    context = {
        "facility": chosen,
        "name": chosen.name(get_language()),
        "days": sorted(days.items()),
        "week": week,
        "last": week[-1],
        "grid": availability_grid(week, days),
        "next_free": next_free_slot(chosen, user, first),
        "user": user,
        "window": window,
        "groups": _groups_of(user) if user else [],
        "previous": (first - datetime.timedelta(days=7)).isoformat(),
        "next": (first + datetime.timedelta(days=7)).isoformat(),
        "first": first,
    }
    return render(request, "booking/facility.html", site(context))


def availability_grid(
    week: list[datetime.date], days: dict[datetime.date, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Rows of time slots (start–end) × the week's days, as municipal booking sites show: each cell the slot's
    item (state free ○, lottery △, taken or not open ×) or None when the facility has no slot then."""
    times = sorted({(item["slot"].starts_at.astimezone(rules.JST).time(), item["slot"].ends_at.astimezone(rules.JST)
                     .time()) for items in days.values() for item in items})  # fmt: skip
    rows = []
    for start, end in times:
        cells = []
        for day in week:
            match = [i for i in days.get(day, []) if i["slot"].starts_at.astimezone(rules.JST).time() == start]
            cells.append({"day": day, "item": match[0] if match else None})
        rows.append({"start": start, "end": end, "cells": cells})
    return rows


def _groups_of(user: CityUser) -> list[Group]:
    return list(service.groups_of(user))


# -- groups -------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def groups(request: HttpRequest) -> HttpResponse:
    """My groups; create one (I represent it) or join one with the invite code its representative gave me."""
    user: CityUser = request.city_user  # type: ignore[attr-defined]
    if request.method == "POST":
        try:
            if request.POST.get("action") == "join":
                group = service.join_group(user, request.POST.get("invite_code", ""))
            else:
                group = service.create_group(user, request.POST.get("name", ""))
        except BookingError as error:
            return error_page(request, error, reverse("booking_groups"))
        return redirect("booking_group", group_id=group.pk)
    return render(request, "booking/groups.html", site({"groups": _groups_of(user), "user": user}))


@require_GET
@login_required
def group(request: HttpRequest, group_id: int) -> HttpResponse:
    user: CityUser = request.city_user  # type: ignore[attr-defined]
    found = service.groups_of(user).filter(pk=group_id).first()
    if found is None:
        raise Http404()
    context = {
        "group": found,
        "is_representative": found.representative_id == user.pk,
        "members": found.members.count(),
    }
    return render(request, "booking/group.html", site(context))


# -- booking, payment, cancellation -------------------------------------------------------------------------------


@require_POST
@login_required
def book(request: HttpRequest) -> HttpResponse:
    user: CityUser = request.city_user  # type: ignore[attr-defined]
    slot: Slot | None = None
    try:
        slot = service.get_slot(request.POST.get("slot", ""))
        group = None
        if request.POST.get("group"):
            group = Group.objects.filter(pk=_int(request.POST["group"])).first()
            if group is None:
                raise NotGroupMember()
        booking = service.book(user, slot, group=group)
    except BookingError as error:
        back = reverse("booking_facility", args=[slot.facility_id]) if slot is not None else None
        return error_page(request, error, back)
    # No flash message: the booking's page itself says what happened and what comes next.
    return redirect("booking_detail", reference=booking.reference)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


@require_GET
@never_cache
@login_required
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = service.refresh(own_booking(request, reference))
    now = timezone.now()
    days = rules.days_before_use(now, booking.slot.starts_at)
    paid = booking.payments.filter(status="captured").first()
    context = {
        "booking": booking,
        "name": booking.slot.facility.name(get_language()),
        "receipt": Receipt.objects.filter(booking=booking).first(),
        "refunds": booking.refunds.all(),
        "cancellable": booking.is_active and booking.slot.starts_at > now,
        "refund_percent": rules.refund_percent(days) if paid else None,
        "refund_yen": rules.refund_yen(paid.amount_yen, days) if paid else None,
        "late_points": rules.late_cancellation_points(days),
    }
    return render(request, "booking/detail.html", site(context))


@require_POST
@login_required
def pay(request: HttpRequest, reference: str) -> HttpResponse:
    booking = own_booking(request, reference)
    return_url = request.build_absolute_uri(reverse("booking_payment_return", args=[booking.reference]))
    try:
        created = service.start_payment(booking, return_url)
    except BookingError as error:
        return error_page(request, error, reverse("booking_detail", args=[booking.reference]))
    return HttpResponseRedirect(created.redirect_url)


@require_GET
@never_cache
@login_required
def payment_return(request: HttpRequest, reference: str) -> HttpResponse:
    """The payer's browser back from the provider, carrying its signed callback."""
    booking = own_booking(request, reference)
    back = reverse("booking_detail", args=[booking.reference])
    chosen = provider()
    try:
        event = chosen.verify_callback(decode_payload(request.GET.get("payload", "")), request.GET.get("signature", ""))
        if not booking.payments.filter(provider=chosen.name, provider_ref=event.provider_ref).exists():
            raise InvalidCallback()  # a genuine callback, but for another booking's payment
        booking = service.apply_payment_event(chosen.name, event)
    except BookingError as error:
        return error_page(request, error, back)
    if booking.status == Booking.Status.CONFIRMED:
        messages.success(request, _("Paid. Your booking is confirmed and the receipt is ready."))
    else:
        messages.warning(request, _("The payment was declined. You can try again before the deadline."))
    return redirect(back)


@csrf_exempt  # server to server: the provider signs the body, no cookie
@require_POST
@never_cache
def payment_webhook(request: HttpRequest, provider_name: str) -> HttpResponse:
    try:
        chosen = provider(provider_name)
        event = chosen.verify_callback(request.body, request.headers.get(SIGNATURE_HEADER, ""))
        booking = service.apply_payment_event(chosen.name, event)
    except BookingError as error:
        return JsonResponse({"error": error.code}, status=409 if error.status == 409 else 400)
    return JsonResponse({"booking": booking.reference, "status": booking.status})


@require_POST
@login_required
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    booking = own_booking(request, reference)
    try:
        refund = service.cancel(booking)
    except BookingError as error:
        return error_page(request, error, reverse("booking_detail", args=[booking.reference]))
    if refund is not None and refund.amount_yen:
        messages.success(request, _("Cancelled. %(yen)s will be refunded.") % {"yen": yen(refund.amount_yen)})
    else:
        messages.success(request, _("Cancelled."))
    return redirect("booking_detail", reference=booking.reference)


@require_GET
@login_required
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    found = Receipt.objects.select_related("booking__slot__facility", "payment").filter(number=number).first()
    if found is None or found.booking.user_id != request.city_user.pk:  # type: ignore[attr-defined]
        raise Http404()
    context = {"receipt": found, "booking": found.booking, "name": found.booking.slot.facility.name(get_language())}
    return render(request, "booking/receipt.html", site(context))


# -- the simulated payment provider's own page --------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
def simulated_provider_page(request: HttpRequest, provider_ref: str) -> HttpResponse:
    charge = get_object_or_404(SimulatedCharge, provider_ref=provider_ref)
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer not in ("pay", "decline") or charge.status != SimulatedCharge.Status.CREATED:
            return render(
                request, "booking/simulated_provider.html", payment_site({"charge": charge, "done": True}), status=400
            )
        return_url, payload, signature = SimulatedProvider().decide(provider_ref, pay=answer == "pay")
        separator = "&" if "?" in return_url else "?"
        return HttpResponseRedirect(f"{return_url}{separator}payload={payload}&signature={signature}")
    done = charge.status != SimulatedCharge.Status.CREATED
    return render(request, "booking/simulated_provider.html", payment_site({"charge": charge, "done": done}))


def payment_site(context: dict[str, Any]) -> dict[str, Any]:
    """The simulated provider's page is the provider's, not the city's or AnchorID's: its own name in the header."""
    return {**context, SITE_NAME: _("Payment service (simulated)"), "anchorid_party": ""}
