"""An idp instance and a city instance die (SIGKILL of their whole process groups: the machine is gone) in the
middle of a run: no login, event or booking is lost.

- HAProxy sends every request to the survivors: requests keep succeeding through it while the instances die.
- A login started on the dead instances (the city's pending login, the idp's pushed request) finishes on the living
  ones; a booking made on the dead city instance is still there, and the survivor takes new ones.
- A Shared Signals event the dead idp instance queued while the receiver was unreachable (the city taken out of
  the proxy's rotation through its runtime API, so the first pushes fail and the event waits for its retry) is
  delivered once the receiver is back, by the only background work left: the survivor's (a lease the dead
  instance held on the stream expires after ``ANCHORID_SSF_LEASE_SECONDS``, 5 s here).

This module runs last (the deployment has one idp and one city instance afterwards)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import requests

from .deployment import Deployment, PinnedBrowser
from .flows import (
    book_a_slot,
    finish_city_login,
    logout_at_idp,
    share_with_departments,
    start_city_login,
    wait_for,
)


class Load(threading.Thread):
    """Keeps asking for ``url`` through the proxy (unpinned) until stopped; every status it got."""

    def __init__(self, deployment: Deployment, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.session = requests.Session()
        self.session.verify = deployment.ca
        self.statuses: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.statuses.append(self.session.get(self.url, timeout=30).status_code)
            except requests.RequestException:
                self.statuses.append(0)
            self.done.wait(0.05)

    def stop(self, at_least: int = 20, within: float = 60.0) -> list[int]:
        """Stop once ``at_least`` answers are in (the steps after the kill may be quicker than the load's pace:
        the answers asked for are what the test judges), waiting at most ``within`` seconds for them."""
        deadline = time.monotonic() + within
        while len(self.statuses) < at_least and time.monotonic() < deadline:
            time.sleep(0.1)
        self.done.set()
        self.join(timeout=60)
        return self.statuses


def _query(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


def test_it_loses_no_login_event_or_booking_when_an_instance_of_each_party_is_killed(
    deployment: Deployment, new_card: Callable[[], dict[str, Any]]
) -> None:
    idp_db, city_db = deployment.state["databases"]["idp"], deployment.state["databases"]["city"]
    # Before: a resident logged in at the city and at its departments (a Shared Signals receiver), with a booking,
    # all on instance 1.
    first = PinnedBrowser(deployment)
    first.pin("idp-1", "city-1")
    first.onboard(new_card())
    share_with_departments(first, deployment.city)
    finish_city_login(first, deployment.city, start_city_login(first, deployment.city))
    booked_before = book_a_slot(first, deployment.city)
    # A second resident's login is half done on instance 1: the city pushed it, the idp shows its consent page.
    second = PinnedBrowser(deployment)
    second.pin("idp-1", "city-1")
    second.onboard(new_card())
    started = start_city_login(second, deployment.city)
    assert second.http.get(started, timeout=30).status_code == 200
    assert set(first.served_by) | set(second.served_by) <= {"idp-1", "city-1"}
    before = {jti for (jti,) in _query(idp_db, "SELECT jti FROM ssf_outboxevent")}

    # The receiver becomes unreachable; the first resident logs out at idp-1, which queues a session-revoked
    # event for the departments; its pushes fail (HAProxy answers 503) and it waits for a retry.
    for instance in ("city-1", "city-2"):
        deployment.proxy(f"disable server city/{instance}")
    logout_at_idp(first, deployment.idp)
    queued = [jti for (jti,) in _query(idp_db, "SELECT jti FROM ssf_outboxevent") if jti not in before]
    assert queued, "the logout queued no Shared Signals event"
    failed = "SELECT count(*) FROM ssf_outboxevent WHERE jti = ANY(%s) AND state <> 'delivered' AND last_error <> ''"
    wait_for("a failed first push", lambda: _query(idp_db, failed, queued)[0][0] == len(queued), 60)

    # Both instance-1 machines die while requests keep coming through the proxy.
    load = Load(deployment, f"{deployment.idp}/.well-known/openid-configuration")
    load.start()
    deployment.kill("idp-1")
    deployment.kill("city-1")
    for instance in ("city-1", "city-2"):
        deployment.proxy(f"enable server city/{instance}")

    # Through the proxy alone from now on: the second login finishes on the survivors and books a slot.
    second.unpin()
    finish_city_login(second, deployment.city, started)
    booked_after = book_a_slot(second, deployment.city)
    assert set(second.served_by) == {"idp-2", "city-2"}
    statuses = load.stop()
    assert len(statuses) > 10
    assert set(statuses) == {200}, sorted(set(statuses))

    # The event idp-1 queued is delivered by idp-2's background work, and the city's departments have it.
    delivered = "SELECT count(*) FROM ssf_outboxevent WHERE state = 'delivered' AND jti = ANY(%s)"
    wait_for("the queued events to be delivered", lambda: _query(idp_db, delivered, queued)[0][0] == len(queued), 90)
    received = _query(city_db, "SELECT count(*) FROM ssf_receiver_receivedset WHERE jti = ANY(%s)", queued)
    assert received[0][0] == len(queued)

    bookings = _query(city_db, "SELECT reference FROM booking_booking WHERE reference = ANY(%s)",
                      [booked_before, booked_after])  # fmt: skip
    assert {reference for (reference,) in bookings} == {booked_before, booked_after}
    # Requests pinned to a dead instance fail (503): the survivors really did the work above.
    dead = requests.get(f"{deployment.idp}/.well-known/openid-configuration", verify=deployment.ca, timeout=30,
                        headers={"X-AnchorID-Pin": "idp-1"})  # fmt: skip
    assert dead.status_code == 503
