"""Counter payment state for the staff counter page: ``{% counter_payment_state booking as pay %}`` (receipt,
method, a fresh idempotency key for the payment form) and ``{% counter_payouts resident as payouts %}``."""

from __future__ import annotations

from typing import Any

from django import template

from anchorid.city.booking.models import Booking, CityUser, Receipt
from anchorid.city.staff import counter_payment
from anchorid.city.staff.models import CounterCharge, CounterPayout

register = template.Library()


@register.simple_tag
def counter_payment_state(booking: Booking) -> dict[str, Any]:
    receipt = Receipt.objects.filter(booking=booking).select_related("payment").first()
    code = counter_payment.methods_by_booking([booking.pk]).get(booking.pk, "") if receipt else ""
    return {
        "receipt": receipt,
        "method": counter_payment.method_label(code) if code else "",
        "key": counter_payment.new_idempotency_key(),
        "methods": CounterCharge.Method.choices,
    }


@register.simple_tag
def counter_payouts(resident: CityUser) -> list[CounterPayout]:
    return counter_payment.payouts_of(resident)
