"""500 concurrent attempts at one slot against the real database (SQLite here, PostgreSQL with DATABASE_URL):
exactly one booking; every other attempt gets ``SlotTaken`` ("already taken"). The database decides: the
partial unique index on the slot for active bookings.

Threads, each with its own database connection, wait at a barrier and then book at once. PostgreSQL allows 100
connections on this shared server, so at most ``PG_CONNECTIONS`` threads hold one at a time; SQLite has no such
limit (its writers queue on the database lock)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from anchorid.city.booking import service
from anchorid.city.booking.errors import SlotTaken
from anchorid.city.booking.models import Booking, CityUser, Slot

from .booking_support import facility, slot_in

ATTEMPTS = 500
PG_CONNECTIONS = 40


def attempt_all(slot: Slot, users: list[CityUser]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(len(users))
    gate = threading.BoundedSemaphore(PG_CONNECTIONS if connection.vendor == "postgresql" else len(users))

    def attempt(user: CityUser) -> None:
        barrier.wait()
        with gate:
            try:
                service.book(user, slot)
                outcome = "booked"
            except SlotTaken as error:
                outcome = "taken" if error.code == "slot_taken" and error.status == 409 else "bad error"
            except Exception as error:  # anything else is a failure of the guarantee; counted, then asserted
                outcome = f"unexpected {type(error).__name__}: {error}"
            finally:
                connections.close_all()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_it_gives_one_slot_to_exactly_one_of_500_concurrent_attempts() -> None:
    slot = slot_in(5, facility())
    CityUser.objects.bulk_create(
        CityUser(sub=f"concurrent-{i}", display_name=f"resident {i}", is_resident=True) for i in range(ATTEMPTS)
    )
    users = list(CityUser.objects.filter(sub__startswith="concurrent-"))
    outcomes = attempt_all(slot, users)
    assert outcomes == Counter({"booked": 1, "taken": ATTEMPTS - 1})
    assert Booking.objects.filter(slot=slot).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_lets_one_of_two_concurrent_overlapping_slots_in() -> None:
    hall = facility()
    base = slot_in(5, hall)
    Slot.objects.filter(pk=base.pk).delete()
    outcomes: Counter[str] = Counter()
    barrier = threading.Barrier(20)

    def create(offset_minutes: int) -> None:
        import datetime as dt

        from anchorid.city.booking.errors import SlotOverlaps

        barrier.wait()
        try:
            start = base.starts_at + dt.timedelta(minutes=offset_minutes)
            service.create_slot(hall, start, start + dt.timedelta(hours=2), 1000)
            outcomes["created"] += 1
        except SlotOverlaps:
            outcomes["overlaps"] += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(i * 5,)) for i in range(20)]  # all within 2 hours
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == Counter({"created": 1, "overlaps": 19})
    assert Slot.objects.filter(facility=hall).count() == 1
