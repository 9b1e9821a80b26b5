"""The city's worker (``anchorid.city.jobs``): its jobs are booking expiry and lottery release, each leased; run by
the worker, an overdue tentative booking expires without anyone opening a page."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from pytest_django.fixtures import Settings

from anchorid.city.booking import service
from anchorid.city.booking.models import Booking
from anchorid.city.jobs import jobs
from anchorid.common.models import JobLease, WorkerHeartbeat
from anchorid.common.worker.registry import party_jobs
from anchorid.common.worker.supervisor import Worker

from .booking_support import facility, resident_claims, slot_in, user

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_lists_the_city_jobs_and_leaves_out_those_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [(job.name, job.interval, job.leased) for job in jobs()] == [
        ("booking-expiry", 60, True), ("lottery-release", 60, True),
    ]  # fmt: skip
    monkeypatch.setenv("ANCHORID_LOTTERY_RELEASE_SECONDS", "0")
    assert [job.name for job in party_jobs("city")] == ["booking-expiry"]
    assert party_jobs("providers") == []


def test_it_expires_an_overdue_booking_in_the_worker(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("ANCHORID_BOOKING_EXPIRY_SECONDS", "0.1")
    settings.ANCHORID_WORKER_POLL_SECONDS = "0.05"
    settings.ANCHORID_WORKER_BEAT_SECONDS = "0.1"
    booking = service.book(user(resident_claims()), slot_in(3, facility()))
    assert booking.status == Booking.Status.TENTATIVE
    Booking.objects.filter(pk=booking.pk).update(payment_deadline=booking.created_at - dt.timedelta(minutes=1))
    worker = Worker("city")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Booking.objects.get(pk=booking.pk).status != Booking.Status.EXPIRED:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.EXPIRED
    assert JobLease.objects.get(name="booking-expiry").last_status == JobLease.Status.OK
    beat = WorkerHeartbeat.objects.get(instance=worker.instance)
    assert (beat.party, beat.jobs["booking-expiry"]["status"]) == ("city", "ok")
