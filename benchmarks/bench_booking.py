"""Facility booking (issue #7): bookings per second through the real HTTP path, without and with contention.

    .venv/bin/python benchmarks/bench_booking.py [--clients 8] [--slots 1500] [--contended-slots 60]
                                                 [--repeats 3] [--workers 2] [--database-url URL]

A real ``anchorid serve city --workers N`` (Granian, as deployed) on its own data folder: SQLite in WAL mode, or
the PostgreSQL database named by ``--database-url`` (it must exist; the server migrates it). Each client is a
process with its own logged-in resident (a city session holding verified claims, as the login callback leaves it)
and its CSRF cookie; each request is what the "book" button posts: ``POST /booking/book/`` with a slot id. The
server checks the session, the slot, the window, computes the fee and inserts the booking in one transaction; the
partial unique index decides who gets a slot.

1. Uncontended: ``--slots`` free slots split between the clients, each books its own share; bookings/s.
2. Contended: every client tries every one of ``--contended-slots`` slots in the same order, so each slot gets
   ``--clients`` simultaneous attempts: exactly one 302 (booked), the others 409 ("already taken"); attempts/s
   (every attempt a full request answered either way) and bookings/s. The script checks one booking per slot.
3. For reference, the service layer alone (``service.book`` in one thread, no HTTP), uncontended.

Servers and clients share the machine's cores: figures are floors. Medians of the repeats.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import PYTHON, free_port, machine, server, today

CSRF = secrets.token_hex(16)  # 32 characters: a CSRF secret the middleware accepts as cookie and form token


def setup_django(data: Path, database_url: str | None) -> None:
    os.environ.update(
        ANCHORID_DATA_DIR=str(data),
        DJANGO_SETTINGS_MODULE="anchorid.city.settings",
        ANCHORID_INSECURE_COOKIES="1",
        ANCHORID_LOG_LEVEL="ERROR",
    )
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    # anchorid serve city refuses to start without its relying-party configuration; the benchmark logs nobody in
    # through the idp (its residents' sessions are made here), so an unreachable idp will do.
    subprocess.run([PYTHON, "-m", "anchorid.cli", "city", "setup", "--data", str(data), "--idp", "http://localhost:9"],
                   check=True, capture_output=True)  # fmt: skip


def residents(count: int, tag: str) -> list[str]:
    """``count`` logged-in residents; their session cookies."""
    from django.contrib.sessions.backends.db import SessionStore

    from anchorid.city import login
    from anchorid.city.booking import rules, service

    cookies = []
    for i in range(count):
        claims = {"sub": f"bench-{tag}-{i}", "name": f"住民 {i}", "resident_of": rules.CITY_CODE}
        service.user_from_claims(claims)
        session = SessionStore()
        session[login.LOGIN_KEY] = {"claims": claims, "acr": "", "id_token": "x", "token": {}}
        session.create()
        cookies.append(str(session.session_key))
    return cookies


def slots(count: int, tag: str) -> list[int]:
    """``count`` back-to-back 30-minute slots of a new facility, from tomorrow (inside the residents' window)."""
    from anchorid.city.booking.models import Facility, Slot
    from anchorid.city.booking.rules import JST

    hall = Facility.objects.create(name_ja=f"ベンチ {tag}", name_en=f"bench {tag}", kind="hall", capacity=10)
    tomorrow = datetime.datetime.now(JST).date() + datetime.timedelta(days=1)
    first = datetime.datetime.combine(tomorrow, datetime.time(), JST)
    step = datetime.timedelta(minutes=30)
    made = Slot.objects.bulk_create(
        Slot(facility=hall, starts_at=first + i * step, ends_at=first + (i + 1) * step, fee_yen=1000)
        for i in range(count)
    )
    return [slot.pk for slot in made]


def client(args: tuple[str, str, list[int], Any]) -> Counter[int]:
    """One resident's browser on one kept-alive connection: book each slot in turn; the status codes seen.
    (``http.client`` rather than requests: the load generator shares the cores with the server.)"""
    url, cookie, slot_ids, start = args
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {
        "Cookie": f"city_sessionid={cookie}; city_csrftoken={CSRF}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    connection.request("GET", "/booking/", headers=headers)
    connection.getresponse().read()
    seen: Counter[int] = Counter()
    start.wait()
    for slot_id in slot_ids:
        body = urlencode({"slot": slot_id, "csrfmiddlewaretoken": CSRF})
        connection.request("POST", "/booking/book/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        seen[response.status] += 1
    connection.close()
    return seen


def run_clients(url: str, plans: list[tuple[str, list[int]]]) -> tuple[float, Counter[int]]:
    """Run one client process per (cookie, slots) plan, released together; (seconds, status codes)."""
    manager = multiprocessing.Manager()
    start = manager.Event()
    with multiprocessing.Pool(len(plans)) as pool:
        pending = pool.map_async(client, [(url, cookie, ids, start) for cookie, ids in plans])
        time.sleep(1.0)  # every client has warmed its connection and waits
        began = time.perf_counter()
        start.set()
        results = pending.get(timeout=900)
        elapsed = time.perf_counter() - began
    total: Counter[int] = Counter()
    for seen in results:
        total.update(seen)
    return elapsed, total


def booked_per_slot(slot_ids: list[int]) -> Counter[int]:
    from anchorid.city.booking.models import Booking

    per_slot = Counter(Booking.objects.filter(slot_id__in=slot_ids).values_list("slot_id", flat=True))
    return Counter(per_slot[slot_id] for slot_id in slot_ids)  # how many slots have 0, 1, 2… bookings


def service_layer(count: int, tag: str) -> float:
    from anchorid.city.booking import service
    from anchorid.city.booking.models import CityUser, Slot

    user = CityUser.objects.get(sub=f"bench-{tag}-0")
    ids = slots(count, f"{tag}-service")
    began = time.perf_counter()
    for slot in Slot.objects.filter(pk__in=ids).select_related("facility"):
        service.book(user, slot)
    return count / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--slots", type=int, default=1500)
    parser.add_argument("--contended-slots", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-booking-"))
    data = folder / "city"
    setup_django(data, args.database_url)
    from django.db import connections

    cookies = residents(args.clients, "r")
    connections.close_all()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANCHORID_CITY_ORIGIN": url}
    command = [PYTHON, "-m", "anchorid.cli", "serve", "city", "--port", str(port), "--data", str(data)]
    uncontended, contended, contended_bookings, service_rates = [], [], [], []
    with server([*command, "--workers", str(args.workers)], port, env=env):
        for repeat in range(args.repeats):
            ids = slots(args.slots, f"u{repeat}")
            connections.close_all()
            plans = [(cookie, ids[i :: args.clients]) for i, cookie in enumerate(cookies)]
            seconds, codes = run_clients(url, plans)
            assert codes == Counter({302: args.slots}), codes
            assert booked_per_slot(ids) == Counter({1: args.slots})
            uncontended.append(args.slots / seconds)

            ids = slots(args.contended_slots, f"c{repeat}")
            connections.close_all()
            seconds, codes = run_clients(url, [(cookie, ids) for cookie in cookies])
            attempts = args.contended_slots * args.clients
            assert codes == Counter({302: args.contended_slots, 409: attempts - args.contended_slots}), codes
            assert booked_per_slot(ids) == Counter({1: args.contended_slots})
            contended.append(attempts / seconds)
            contended_bookings.append(args.contended_slots / seconds)

            service_rates.append(service_layer(args.slots, "r"))
            connections.close_all()
            print(
                f"repeat {repeat + 1}: uncontended {uncontended[-1]:.0f} bookings/s; contended "
                f"{contended[-1]:.0f} attempts/s ({contended_bookings[-1]:.0f} bookings/s); "
                f"service layer {service_rates[-1]:.0f} bookings/s",
                file=sys.stderr,
            )

    from django.db import connection

    database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite (WAL)"
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"# bench_booking: {today()}; {machine()}; load average at the end {load}")
    print(
        f"# {database}; city server with {args.workers} Granian workers; {args.clients} client processes; "
        f"{args.repeats} repeats (median)"
    )
    print(f"uncontended: {statistics.median(uncontended):.0f} bookings/s over HTTP ({args.slots} slots)")
    print(
        f"contended: {statistics.median(contended):.0f} attempts/s over HTTP ({args.contended_slots} slots × "
        f"{args.clients} simultaneous attempts; one booked, the rest 409) = "
        f"{statistics.median(contended_bookings):.0f} bookings/s"
    )
    print(f"service layer alone (one thread, no HTTP): {statistics.median(service_rates):.0f} bookings/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
