"""Staff pages of the counter payment (``counter_payment.py``): record a payment received at the counter, print
its receipt for the resident, record a refund handed over. Taking or paying out money needs the
``staff.counter_payment`` permission on top of ``staff.counter``; every change is a POST with Django's CSRF check;
a refusal re-shows the resident's counter page with the reason and stores nothing."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from anchorid.city.booking.errors import BookingError
from anchorid.city.booking.models import Booking, CityUser, Receipt
from anchorid.city.staff import counter_payment
from anchorid.city.staff.models import CounterCharge
from anchorid.city.staff.views import _counter_user, _resident_context, page, staff_required


class CounterPaymentForm(forms.Form):
    amount_yen = forms.IntegerField(label=gettext_lazy("Amount received (yen)"))
    method = forms.ChoiceField(label=gettext_lazy("Paid by"), choices=CounterCharge.Method.choices)
    key = forms.CharField(max_length=64)


def _refused(request: HttpRequest, resident: CityUser, booking: Booking, message: str, status: int) -> HttpResponse:
    context = _resident_context(resident, payment_error=message, payment_booking=booking.reference)
    return page(request, "staff/counter_resident.html", context, status=status)


@require_POST
@staff_required("counter")
def pay(request: HttpRequest, user_id: int, reference: str) -> HttpResponse:
    if not counter_payment.may_take_payments(request.user):
        raise PermissionDenied
    resident = _counter_user(user_id)
    booking = get_object_or_404(Booking, reference=reference, user=resident)
    form = CounterPaymentForm(request.POST)
    if not form.is_valid():
        message = " ".join(f"{form.fields[name].label}: {error}" for name, errors in form.errors.items()
                           for error in errors)  # fmt: skip
        return _refused(request, resident, booking, message, 400)
    return_url = reverse("staff_counter_resident", args=[resident.pk])
    try:
        receipt = counter_payment.take_payment(
            request.user, resident, booking, amount_yen=form.cleaned_data["amount_yen"],
            method=form.cleaned_data["method"], idempotency_key=form.cleaned_data["key"], return_url=return_url,
        )  # fmt: skip
    except counter_payment.CounterPaymentError as error:
        return _refused(request, resident, booking, error.message, error.status)
    except BookingError as error:
        return _refused(request, resident, booking, str(error.message), error.status)
    # No flash message: it would print on the receipt. The receipt page says it was recorded (not when printed).
    return redirect(reverse("staff_counter_receipt", args=[resident.pk, receipt.number]) + "?recorded=1")


@require_GET
@staff_required("counter")
def receipt(request: HttpRequest, user_id: int, number: str) -> HttpResponse:
    resident = _counter_user(user_id)
    found = get_object_or_404(
        Receipt.objects.select_related("booking__slot__facility", "payment"), number=number, booking__user=resident
    )
    codes = counter_payment.methods_by_booking([found.booking_id])
    context = {
        "resident": resident,
        "receipt": found,
        "booking": found.booking,
        "name": found.booking.slot.facility.name(get_language()),
        "method": counter_payment.method_label(codes.get(found.booking_id, "")),
        "charge": CounterCharge.objects.filter(provider_ref=found.payment.provider_ref).first(),
        "recorded": request.GET.get("recorded") == "1",
    }
    return page(request, "staff/counter_receipt.html", context)


@require_POST
@staff_required("counter")
def pay_out(request: HttpRequest, user_id: int, payout_ref: str) -> HttpResponse:
    if not counter_payment.may_take_payments(request.user):
        raise PermissionDenied
    resident = _counter_user(user_id)
    try:
        payout = counter_payment.pay_out(request.user, resident, payout_ref)
    except counter_payment.CounterPaymentError as error:
        messages.error(request, error.message)
        return page(request, "staff/counter_resident.html", _resident_context(resident), status=error.status)
    messages.success(request, _("Refund of %(yen)s yen recorded as paid out.") % {"yen": f"{payout.amount_yen:,}"})
    return redirect("staff_counter_resident", user_id=resident.pk)
