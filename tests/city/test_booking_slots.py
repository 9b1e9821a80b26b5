"""Slots: reversed or empty times, naive times, negative or non-integer fees and overlaps are refused with a clear
error and nothing stored — by the service, and by the database itself when the service is bypassed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from anchorid.city.booking import service
from anchorid.city.booking.errors import InvalidSlot, SlotOverlaps
from anchorid.city.booking.models import Booking, Slot

from .booking_support import JST, facility, resident_claims, user

pytestmark = pytest.mark.django_db
NINE = dt.datetime(2030, 4, 1, 9, 0, tzinfo=JST)
HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("starts", "ends", "fee", "message"),
    [
        (NINE, NINE - HOUR, 100, "end after it starts"),
        (NINE, NINE, 100, "end after it starts"),
        (NINE, NINE + HOUR, -1, "zero or more"),
        (NINE, NINE + HOUR, 1.5, "whole number"),
        (NINE.replace(tzinfo=None), NINE.replace(tzinfo=None) + HOUR, 100, "time zone"),
    ],
)
def test_it_refuses_bad_slots_with_a_clear_error(
    starts: dt.datetime, ends: dt.datetime, fee: int, message: str
) -> None:
    with pytest.raises(InvalidSlot, match=message):
        service.create_slot(facility(), starts, ends, fee)
    assert not Slot.objects.exists()


def test_it_refuses_overlapping_slots_of_one_facility_but_not_of_another() -> None:
    hall, room = facility(), facility("room", "Room")
    service.create_slot(hall, NINE, NINE + 2 * HOUR, 100)
    for starts, ends in ((NINE + HOUR, NINE + 3 * HOUR), (NINE - HOUR, NINE + HOUR), (NINE - HOUR, NINE + 4 * HOUR)):
        with pytest.raises(SlotOverlaps):
            service.create_slot(hall, starts, ends, 100)
    service.create_slot(hall, NINE + 2 * HOUR, NINE + 3 * HOUR, 100)  # touching is not overlapping
    service.create_slot(room, NINE, NINE + 2 * HOUR, 100)
    assert Slot.objects.filter(facility=hall).count() == 2


def test_it_refuses_moving_a_slot_onto_another_in_the_database() -> None:
    hall = facility()
    service.create_slot(hall, NINE, NINE + HOUR, 100)
    later = service.create_slot(hall, NINE + 2 * HOUR, NINE + 3 * HOUR, 100)
    later.starts_at = NINE + dt.timedelta(minutes=30)
    with pytest.raises(IntegrityError), transaction.atomic():
        later.save()


@pytest.mark.parametrize(
    "values",
    [
        {"starts_at": NINE, "ends_at": NINE - HOUR, "fee_yen": 1},
        {"starts_at": NINE, "ends_at": NINE + HOUR, "fee_yen": -5},
    ],
)
def test_it_has_the_database_refuse_bad_slots_when_the_service_is_bypassed(values: dict[str, object]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.create(facility=facility(), **values)
    assert not Slot.objects.exists()


def test_it_has_the_database_refuse_a_second_active_booking_when_the_service_is_bypassed() -> None:
    slot = service.create_slot(facility(), NINE, NINE + HOUR, 100)
    first, second = user(resident_claims("a")), user(resident_claims("b"))
    Booking.objects.create(slot=slot, user=first, fee_yen=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(slot=slot, user=second, fee_yen=100, status=Booking.Status.CONFIRMED)
    Booking.objects.create(slot=slot, user=second, fee_yen=100, status=Booking.Status.CANCELLED)  # inactive: fine
    assert Booking.objects.filter(slot=slot).count() == 2
