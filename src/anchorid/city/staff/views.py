"""The city's staff pages: facilities, slots, lottery runs, bookings, fees, reports with CSV export, and the
counter. Staff log in with Django staff accounts of the city's own database (``anchorid city staff add``); each
area needs its permission (``staff.facilities``, ``staff.lottery``, ``staff.bookings``, ``staff.reports``,
``staff.counter``; superusers have all). Every change is a POST with Django's CSRF check; refusals are shown on
the page and store nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.city.booking import rules
from anchorid.city.booking import service as booking_service
from anchorid.city.booking.errors import BookingError
from anchorid.city.booking.models import Booking, CityUser, Facility, Group, Slot
from anchorid.city.lottery import service as lottery_service
from anchorid.city.lottery.models import Entry, LotteryRound
from anchorid.city.lottery.service import LotteryError
from anchorid.city.staff import counter, counter_payment, forms, reports
from anchorid.city.staff.csv_export import csv_response
from anchorid.city.staff.models import CounterRegistration
from anchorid.common import password_lockout

AREAS = ("facilities", "lottery", "bookings", "reports", "counter")
View = Callable[..., HttpResponse]


def staff_required(area: str) -> Callable[[View], View]:
    """Logged in as active staff (else to the staff login), with the area's permission (else 403)."""

    def decorator(view: View) -> View:
        @wraps(view)
        @never_cache
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                return redirect_to_login(request.get_full_path(), reverse("staff_login"))
            if area and not user.has_perm(f"staff.{area}"):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context.setdefault("anchorid_site_name", _("Kamakura City"))
    context.setdefault("anchorid_party", _("Staff"))
    context.setdefault("language", get_language())
    context["areas"] = [area for area in AREAS if request.user.has_perm(f"staff.{area}")]
    return render(request, template, context, status=status)


class StaffLoginView(auth_views.LoginView):
    template_name = "staff/login.html"
    authentication_form = forms.StaffLoginForm
    redirect_authenticated_user = False
    next_page = reverse_lazy("staff_home")  # type: ignore[assignment]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return password_lockout.answer_locked_with_429(super().post(request, *args, **kwargs), request)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(anchorid_site_name=_("Kamakura City"), anchorid_party=_("Staff"))
        return context


class StaffLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("staff_login")  # type: ignore[assignment]


@require_GET
@staff_required("")
def home(request: HttpRequest) -> HttpResponse:
    return page(request, "staff/home.html", {})


# --- facilities, slots, fees ---------------------------------------------------------------------------------------


@require_GET
@staff_required("facilities")
def facilities(request: HttpRequest) -> HttpResponse:
    return page(request, "staff/facilities.html", {"facilities": Facility.objects.order_by("name_ja")})


@require_http_methods(["GET", "POST"])
@staff_required("facilities")
def facility_edit(request: HttpRequest, facility_id: int | None = None) -> HttpResponse:
    facility = get_object_or_404(Facility, pk=facility_id) if facility_id else None
    form = forms.FacilityForm(request.POST or None, instance=facility)
    if request.method == "POST":
        if form.is_valid():
            saved = form.save()
            messages.success(request, _("Facility saved."))
            return redirect("staff_slots", facility_id=saved.pk)
        return page(request, "staff/facility_form.html", {"form": form, "facility": facility}, status=400)
    return page(request, "staff/facility_form.html", {"form": form, "facility": facility})


@require_http_methods(["GET", "POST"])
@staff_required("facilities")
def slots(request: HttpRequest, facility_id: int) -> HttpResponse:
    facility = get_object_or_404(Facility, pk=facility_id)
    form = forms.SlotForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                booking_service.create_slot(facility, form.cleaned_data["starts_at"], form.cleaned_data["ends_at"],
                                            form.cleaned_data["fee_yen"])  # fmt: skip
            except BookingError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, _("Slot added."))
                return redirect("staff_slots", facility_id=facility.pk)
        status = 400
    upcoming = (
        Slot.objects.filter(facility=facility, ends_at__gte=timezone.now() - dt.timedelta(days=7))
        .prefetch_related("bookings")
        .order_by("starts_at")[:200]
    )
    return page(request, "staff/slots.html", {"facility": facility, "form": form, "slots": upcoming}, status=status)


@require_POST
@staff_required("facilities")
def slot_fee(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = get_object_or_404(Slot, pk=slot_id)
    form = forms.SlotFeeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors.get("fee_yen", [])) or _("Check the fee."))
    elif Booking.objects.filter(slot=slot, status__in=Booking.ACTIVE).exists():
        messages.error(request, _("The slot is booked; its fee can no longer change."))
    else:
        Slot.objects.filter(pk=slot.pk).update(fee_yen=form.cleaned_data["fee_yen"])
        messages.success(request, _("Fee changed."))
    return redirect("staff_slots", facility_id=slot.facility_id)


@require_http_methods(["GET", "POST"])
@staff_required("facilities")
def fees(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        group_id = request.POST.get("group", "")
        group = get_object_or_404(Group, pk=int(group_id) if group_id.isdigit() else 0)
        form = forms.GroupReductionForm(request.POST, instance=group)
        if form.is_valid():
            form.save()
            messages.success(request, _("Reduction saved for %(group)s.") % {"group": group.name})
            return redirect("staff_fees")
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        status = 400
    groups = Group.objects.select_related("representative").order_by("name")
    context = {
        "groups": [(group, forms.GroupReductionForm(instance=group)) for group in groups],
        "surcharge": rules.NON_RESIDENT_SURCHARGE_PERCENT,
        "senior": rules.SENIOR_COURT_REDUCTION_PERCENT,
        "refund_tiers": rules.REFUND_TIERS,
    }
    return page(request, "staff/fees.html", context, status=status)


# --- lottery runs --------------------------------------------------------------------------------------------------


@require_GET
@staff_required("lottery")
def rounds(request: HttpRequest) -> HttpResponse:
    return page(request, "staff/rounds.html", {"rounds": LotteryRound.objects.all()[:100]})


@require_http_methods(["GET", "POST"])
@staff_required("lottery")
def round_new(request: HttpRequest) -> HttpResponse:
    form = forms.RoundForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    round_ = form.save(commit=False)
                    round_.created_by = request.user
                    round_.save()
                    lottery_service.add_slots(round_, list(form.cleaned_data["slots"]))
            except LotteryError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Round created. Commit the seed before entries close."))
                return redirect("staff_round", round_id=round_.pk)
        return page(request, "staff/round_form.html", {"form": form}, status=400)
    return page(request, "staff/round_form.html", {"form": form})


@require_GET
@staff_required("lottery")
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = get_object_or_404(LotteryRound, pk=round_id)
    entries = Entry.objects.filter(round=round_).select_related("user", "booking", "won_slot__slot")
    context = {
        "round": round_,
        "round_slots": round_.round_slots.select_related("slot__facility"),
        "entries": entries,
        "now": timezone.now(),
    }
    return page(request, "staff/round.html", context)


ROUND_STEPS: dict[str, tuple[Callable[..., object], str]] = {
    "commit": (lottery_service.commit_seed, gettext_noop("Seed committed; its SHA-256 is now on the round page.")),
    "close": (lottery_service.close_entries, gettext_noop("Entries closed; the entry list digest is published.")),
    "draw": (lottery_service.run_draw,
             gettext_noop("Drawn. Winners have bookings awaiting confirmation; the seed is published.")),
    "release": (lottery_service.release_unconfirmed,
                gettext_noop("Unconfirmed wins released; free slots are open first-come.")),
}  # fmt: skip


@require_POST
@staff_required("lottery")
def round_step(request: HttpRequest, round_id: int, step: str) -> HttpResponse:
    round_ = get_object_or_404(LotteryRound, pk=round_id)
    if step not in ROUND_STEPS:
        return page(request, "staff/error.html", {"message": _("Unknown step.")}, status=404)
    action, done = ROUND_STEPS[step]
    try:
        action(round_)
    except LotteryError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _(done))
    return redirect("staff_round", round_id=round_.pk)


# --- bookings ------------------------------------------------------------------------------------------------------


@require_GET
@staff_required("bookings")
def bookings(request: HttpRequest) -> HttpResponse:
    form = forms.BookingSearchForm(request.GET or None)
    found = Booking.objects.select_related("slot__facility", "user", "booked_by_staff").order_by("-slot__starts_at")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            found = found.filter(Q(reference__iexact=data["q"].strip()) | Q(user__display_name__icontains=data["q"]))
        if data["facility"]:
            found = found.filter(slot__facility=data["facility"])
        if data["status"]:
            found = found.filter(status=data["status"])
        if data["date_from"]:
            found = found.filter(slot__starts_at__gte=reports.period(data["date_from"], data["date_from"])[0])
        if data["date_to"]:
            found = found.filter(slot__starts_at__lt=reports.period(data["date_to"], data["date_to"])[1])
    return page(request, "staff/bookings.html", {"form": form, "bookings": found[:200], "now": timezone.now()})


@require_POST
@staff_required("bookings")
def booking_mark(request: HttpRequest, reference: str, outcome: str) -> HttpResponse:
    booking = get_object_or_404(Booking, reference=reference)
    marks = {"no_show": booking_service.mark_no_show, "used": booking_service.mark_used}
    if outcome not in marks:
        return page(request, "staff/error.html", {"message": _("Unknown outcome.")}, status=404)
    try:
        marks[outcome](booking)
    except BookingError:
        messages.error(request, _("Only a paid booking whose time has begun can be marked used or no-show."))
    else:
        messages.success(request, _("Booking %(reference)s marked.") % {"reference": booking.reference})
    return redirect(f"{reverse('staff_bookings')}?q={booking.reference}")


# --- reports -------------------------------------------------------------------------------------------------------


@require_GET
@staff_required("reports")
def report(request: HttpRequest) -> HttpResponse:
    today = timezone.now().astimezone(rules.JST).date()
    monday = today - dt.timedelta(days=today.weekday())  # this week (Monday to Sunday): today's bookings show
    data = request.GET or {"date_from": monday.isoformat(), "date_to": (monday + dt.timedelta(days=6)).isoformat()}
    form = forms.ReportForm(data)
    if not form.is_valid():
        return page(request, "staff/reports.html", {"form": form}, status=400)
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    kind = request.GET.get("csv", "")
    if kind == "usage":
        rows = reports.usage_rows(reports.usage(start, end))
        return csv_response(f"usage-{start}-{end}.csv", reports.USAGE_HEADER, rows)
    if kind == "bookings":
        return csv_response(f"bookings-{start}-{end}.csv", reports.BOOKINGS_HEADER, reports.booking_rows(start, end))
    usage = reports.usage(start, end)
    totals = {
        "revenue": sum(row.revenue_yen for row in usage),
        "refunds": sum(row.refunds_yen for row in usage),
        "net": sum(row.net_yen for row in usage),
    }
    query = f"date_from={start}&date_to={end}"
    by_method = counter_payment.method_totals(*reports.period(start, end))
    context = {"form": form, "usage": usage, "totals": totals, "query": query, "by_method": by_method}
    return page(request, "staff/reports.html", context)


# --- the counter ---------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required("counter")
def counter_home(request: HttpRequest) -> HttpResponse:
    form = forms.RegisterResidentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = counter.register_resident(request.user, **form.cleaned_data)
            except counter.CounterError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Registered. Hand over a link code if they may log in later."))
                return redirect("staff_counter_resident", user_id=user.pk)
        status = 400
    query = request.GET.get("q", "").strip()
    registered = CounterRegistration.objects.select_related("user", "checked_by").order_by("-checked_at")
    if query:
        registered = registered.filter(user__display_name__icontains=query)
    context = {"form": form, "registered": registered[:50], "q": query}
    return page(request, "staff/counter.html", context, status=status)


def _counter_user(user_id: int) -> CityUser:
    return get_object_or_404(CityUser, pk=user_id, counter_registration__isnull=False)


@require_GET
@staff_required("counter")
def counter_resident(request: HttpRequest, user_id: int) -> HttpResponse:
    resident = _counter_user(user_id)
    return page(request, "staff/counter_resident.html", _resident_context(resident))


def _resident_context(resident: CityUser, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "resident": resident,
        "registration": resident.counter_registration,
        "actions": counter.actions_for(resident),
        "bookings": booking_service.bookings_of(resident)[:50],
        "entries": Entry.objects.filter(user=resident).select_related("round", "booking")[:50],
        "booking_form": forms.OnBehalfBookingForm(),
        "entry_form": forms.OnBehalfEntryForm(),
    }
    context.update(extra)
    return context


@require_POST
@staff_required("counter")
def counter_link_code(request: HttpRequest, user_id: int) -> HttpResponse:
    resident = _counter_user(user_id)
    try:
        code = counter.issue_link_code(request.user, resident)
    except counter.CounterError as error:
        messages.error(request, str(error))
        return redirect("staff_counter_resident", user_id=resident.pk)
    # Shown once, to print or copy onto the slip; only its hash is kept.
    return page(request, "staff/counter_resident.html", _resident_context(resident, link_code=code))


@require_POST
@staff_required("counter")
def counter_book(request: HttpRequest, user_id: int) -> HttpResponse:
    resident = _counter_user(user_id)
    form = forms.OnBehalfBookingForm(request.POST)
    if not form.is_valid():
        return page(request, "staff/counter_resident.html", _resident_context(resident, booking_form=form), status=400)
    try:
        slot = booking_service.get_slot(form.cleaned_data["slot"])
        booking = counter.book_on_behalf(request.user, resident, slot)
    except BookingError as error:
        form.add_error(None, str(error.message))
        context = _resident_context(resident, booking_form=form)
        return page(request, "staff/counter_resident.html", context, status=error.status)
    messages.success(request, _("Booked %(reference)s on the resident's behalf.") % {"reference": booking.reference})
    return redirect("staff_counter_resident", user_id=resident.pk)


@require_POST
@staff_required("counter")
def counter_cancel(request: HttpRequest, user_id: int, reference: str) -> HttpResponse:
    resident = _counter_user(user_id)
    booking = get_object_or_404(Booking, reference=reference, user=resident)
    try:
        counter.cancel_on_behalf(request.user, resident, booking)
    except (BookingError, counter.CounterError):
        messages.error(request, _("This booking can no longer be cancelled."))
    else:
        messages.success(request, _("Booking %(reference)s cancelled on the resident's behalf.")
                         % {"reference": booking.reference})  # fmt: skip
    return redirect("staff_counter_resident", user_id=resident.pk)


@require_POST
@staff_required("counter")
def counter_confirm(request: HttpRequest, user_id: int, public_id: str) -> HttpResponse:
    resident = _counter_user(user_id)
    entry = get_object_or_404(Entry, public_id=public_id, user=resident)
    try:
        booking = counter.confirm_on_behalf(request.user, resident, entry)
    except LotteryError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Lottery win taken on the resident's behalf: %(reference)s.")
                         % {"reference": booking.reference})  # fmt: skip
    return redirect("staff_counter_resident", user_id=resident.pk)


@require_POST
@staff_required("counter")
def counter_enter(request: HttpRequest, user_id: int) -> HttpResponse:
    resident = _counter_user(user_id)
    form = forms.OnBehalfEntryForm(request.POST)
    if form.is_valid():
        try:
            entry = counter.enter_on_behalf(request.user, resident, form.cleaned_data["round"],
                                            form.cleaned_data["choices"])  # fmt: skip
        except LotteryError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Entry %(entry)s recorded on the resident's behalf.") % {"entry": entry.public_id}
            )
            return redirect("staff_counter_resident", user_id=resident.pk)
    return page(request, "staff/counter_resident.html", _resident_context(resident, entry_form=form), status=400)
