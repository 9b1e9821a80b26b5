"""Staff reports over a period of days (Japan time, by the slot's start): use per facility, revenue and refunds,
and the list of bookings behind them. Amounts are whole yen from the city's own payment and refund records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from anchorid.city.booking.models import Booking, Facility, Payment, Refund, Slot
from anchorid.city.booking.rules import JST
from anchorid.city.staff import counter_payment


def period(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in Japan time."""
    return (dt.datetime.combine(start, dt.time(), JST), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), JST))


@dataclass(frozen=True)
class FacilityUsage:
    facility: Facility
    slots: int
    booked: int  # confirmed, used or no-show
    used: int
    no_show: int
    cancelled: int
    hours_booked: float
    revenue_yen: int  # captured payments
    refunds_yen: int

    @property
    def net_yen(self) -> int:
        return self.revenue_yen - self.refunds_yen


USAGE_HEADER = ("facility_ja", "facility_en", "slots", "booked", "used", "no_show", "cancelled", "hours_booked",
                "revenue_yen", "refunds_yen", "net_yen")  # fmt: skip
BOOKINGS_HEADER = ("reference", "facility_ja", "starts_at", "ends_at", "user", "status", "fee_yen", "paid_yen",
                   "refunded_yen", "on_behalf", "booked_by_staff", "created_at", "payment_method")  # fmt: skip
BOOKED = (Booking.Status.CONFIRMED, Booking.Status.USED, Booking.Status.NO_SHOW)


def usage(start: dt.date, end: dt.date) -> list[FacilityUsage]:
    since, until = period(start, end)
    in_period = Q(starts_at__gte=since, starts_at__lt=until)
    result = []
    for facility in Facility.objects.order_by("name_ja"):
        slots = Slot.objects.filter(in_period, facility=facility)
        bookings = Booking.objects.filter(slot__in=slots)
        counts = bookings.aggregate(
            booked=Count("pk", filter=Q(status__in=BOOKED)),
            used=Count("pk", filter=Q(status=Booking.Status.USED)),
            no_show=Count("pk", filter=Q(status=Booking.Status.NO_SHOW)),
            cancelled=Count("pk", filter=Q(status=Booking.Status.CANCELLED)),
        )
        hours = sum((booking.slot.ends_at - booking.slot.starts_at).total_seconds() / 3600
                    for booking in bookings.filter(status__in=BOOKED).select_related("slot"))  # fmt: skip
        revenue = Payment.objects.filter(booking__in=bookings, captured_at__isnull=False).aggregate(
            total=Sum("amount_yen"))["total"] or 0  # fmt: skip
        refunds = Refund.objects.filter(booking__in=bookings).aggregate(total=Sum("amount_yen"))["total"] or 0
        result.append(FacilityUsage(facility, slots.count(), counts["booked"], counts["used"], counts["no_show"],
                                    counts["cancelled"], round(hours, 2), revenue, refunds))  # fmt: skip
    return result


def usage_rows(rows: list[FacilityUsage]) -> list[tuple[object, ...]]:
    return [
        (row.facility.name_ja, row.facility.name_en, row.slots, row.booked, row.used, row.no_show, row.cancelled,
         row.hours_booked, row.revenue_yen, row.refunds_yen, row.net_yen)
        for row in rows
    ]  # fmt: skip


def booking_rows(start: dt.date, end: dt.date) -> list[tuple[object, ...]]:
    since, until = period(start, end)
    bookings = (
        Booking.objects.filter(slot__starts_at__gte=since, slot__starts_at__lt=until)
        .select_related("slot__facility", "user", "booked_by_staff")
        .annotate(paid=Sum("payments__amount_yen", filter=Q(payments__captured_at__isnull=False)))
        .order_by("slot__starts_at", "reference")
    )
    refunded = dict(
        Refund.objects.filter(booking__in=bookings).values("booking_id").annotate(total=Sum("amount_yen"))
        .values_list("booking_id", "total")
    )  # fmt: skip
    methods = counter_payment.methods_by_booking([b.pk for b in bookings])
    return [
        (b.reference, b.slot.facility.name_ja, b.slot.starts_at.astimezone(JST).isoformat(),
         b.slot.ends_at.astimezone(JST).isoformat(), b.user.display_name, b.status, b.fee_yen, b.paid or 0,
         refunded.get(b.pk, 0), b.on_behalf, b.booked_by_staff.get_username() if b.booked_by_staff else "",
         b.created_at.astimezone(JST).isoformat(), methods.get(b.pk, ""))
        for b in bookings
    ]  # fmt: skip
