"""Demo of the counter payment: a resident registered at the counter, a booking made for them and paid in cash.

``seed_counter_payment_demo(origin)`` needs Django set up for ``anchorid.city.settings`` in the city's data folder,
the facilities seeded (``anchorid.city.booking.demo.seed_facilities``) and the staff account made by
``anchorid.city.lottery.demo.seed_lottery_demo`` (user ``staff``, every area including ``counter_payment``). Once
(it keeps what it made on later calls) it registers the synthetic resident ``窓口 花子（デモ）`` (identity checked:
driver's licence), books the first free meeting-room slot with a fee three or more days ahead on her behalf and
records its fee as paid in cash at the counter. Returns the lines to print: her counter page and the receipt.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone

from anchorid.city.booking.errors import BookingError
from anchorid.city.booking.models import Booking, CityUser, Facility, Receipt, Slot
from anchorid.city.staff import counter, counter_payment

DEMO_NAME = "窓口 花子（デモ）"
STAFF_USERNAME = "staff"


def seed_counter_payment_demo(origin: str = "http://localhost:8002") -> list[str]:
    origin = origin.rstrip("/")
    staff = User.objects.filter(username=STAFF_USERNAME, is_staff=True).first()
    if staff is None or not counter_payment.may_take_payments(staff):
        return [
            f"no counter payment demo: the staff account {STAFF_USERNAME!r} is missing (seed the lottery demo first)"
        ]
    resident = CityUser.objects.filter(display_name=DEMO_NAME, counter_registration__isnull=False).first()
    if resident is None:
        resident = counter.register_resident(staff, display_name=DEMO_NAME, document="drivers_licence")
    lines = [f"counter resident (booked and paid in cash at the counter): {origin}/staff/counter/{resident.pk}/"]
    receipt = Receipt.objects.filter(booking__user=resident).first()
    if receipt is None:
        receipt = _book_and_pay(staff, resident)
    if receipt is None:
        lines.append("no free meeting-room slot with a fee to book for the counter demo (seed the facilities first)")
    else:
        lines.append(
            f"its receipt, to print at the counter: {origin}/staff/counter/{resident.pk}/receipts/{receipt.number}/"
        )
    return lines


def _book_and_pay(staff: User, resident: CityUser) -> Receipt | None:
    soonest = timezone.now() + dt.timedelta(days=3)
    free = Slot.objects.filter(
        facility__kind=Facility.Kind.ROOM, facility__is_active=True, held_for_lottery=False, fee_yen__gt=0,
        starts_at__gte=soonest,
    ).exclude(bookings__status__in=Booking.ACTIVE).order_by("starts_at")  # fmt: skip
    for slot in free[:20]:
        try:
            booking = counter.book_on_behalf(staff, resident, slot)
        except BookingError:
            continue  # taken meanwhile or outside the window: try the next one
        return counter_payment.take_payment(
            staff, resident, booking, amount_yen=booking.fee_yen, method="cash",
            idempotency_key=counter_payment.new_idempotency_key(), return_url=f"/staff/counter/{resident.pk}/",
        )  # fmt: skip
    return None
