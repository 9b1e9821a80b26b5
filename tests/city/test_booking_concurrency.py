"""500 concurrent attempts at one slot against the real database (SQLite here, PostgreSQL with DATABASE_URL):
exactly one booking; every other attempt gets ``SlotTaken`` ("already taken"). The database decides: the
partial unique index on the slot for active bookings.

Threads, each with its own database connection, wait at a barrier and then book at once. PostgreSQL allows 100
connections on this shared server, so at most ``PG_CONNECTIONS`` threads hold one at a time; SQLite has no such
limit (its writers queue on the database lock). Then the same through HTTP: every loser gets a 409 page saying
"already taken"."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.db import connection, connections

from anchorid.city.booking import service
from anchorid.city.booking.errors import SlotTaken
from anchorid.city.booking.models import Booking, CityUser, Slot

from .booking_support import facility, resident_claims, slot_in

ATTEMPTS = 500
PG_CONNECTIONS = 40
HTTP_IN_FLIGHT = 8


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


@pytest.mark.django_db(transaction=True)
def test_it_answers_500_concurrent_http_attempts_with_one_booking_and_499_already_taken(live_server: Any) -> None:
    """The same over HTTP (Django's threaded live server): 500 residents press "book" on one slot; ``HTTP_IN_FLIGHT``
    requests at a time, the live server's listen backlog being 10 (the threads above test 500 at once)."""
    from django.contrib.sessions.backends.db import SessionStore

    from anchorid.city import login

    slot = slot_in(5, facility())
    cookies = []
    for i in range(ATTEMPTS):
        claims = resident_claims(f"http-{i}")
        service.user_from_claims(claims)
        session = SessionStore()
        session[login.LOGIN_KEY] = {"claims": claims, "acr": "", "id_token": "x", "token": {}}
        session.create()
        cookies.append(session.session_key)
    connections.close_all()
    csrf = "c" * 32
    start = threading.Event()

    def attempt(cookie: str) -> tuple[int, str]:
        http = requests.Session()
        http.cookies.set("city_sessionid", cookie)
        http.cookies.set("city_csrftoken", csrf)
        start.wait()
        response = http.post(f"{live_server.url}/booking/book/", data={"slot": slot.pk, "csrfmiddlewaretoken": csrf},
                             headers={"Accept-Language": "en"}, allow_redirects=False, timeout=120)  # fmt: skip
        return response.status_code, response.text

    with ThreadPoolExecutor(HTTP_IN_FLIGHT) as pool:
        pending = pool.map(attempt, cookies)
        start.set()  # the first HTTP_IN_FLIGHT attempts go at once, the rest as soon as a thread is free
        answers = list(pending)
    codes = Counter(code for code, _ in answers)
    assert codes == Counter({302: 1, 409: ATTEMPTS - 1})
    assert all("already taken" in text and 'data-code="slot_taken"' in text for code, text in answers if code == 409)
    assert Booking.objects.filter(slot=slot).count() == 1
