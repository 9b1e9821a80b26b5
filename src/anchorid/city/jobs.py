"""The city's background jobs (``anchorid.common.worker``), each under its lease:

- ``booking-expiry``: expire tentative bookings past their payment deadline and lottery wins past their
  confirmation deadline (``ANCHORID_BOOKING_EXPIRY_SECONDS``, default 60; 0 off). Pages also expire what they
  touch, so a late run never lets an unpaid booking hold a slot;
- ``lottery-release``: release drawn rounds past their confirmation deadline, opening the second round
  (``ANCHORID_LOTTERY_RELEASE_SECONDS``, default 60; 0 off).

The ``expire_bookings`` management command and ``anchorid city lottery release-due`` do the same by hand.
"""

from __future__ import annotations

import logging

from anchorid.common import config
from anchorid.common.worker.registry import Job

log = logging.getLogger(__name__)


def expire_bookings() -> None:
    from anchorid.city.booking.service import expire_overdue

    expired = expire_overdue()
    if expired:
        log.info("%d booking(s) expired", expired)


def release_lottery_rounds() -> None:
    from anchorid.city.lottery.service import release_due

    released = release_due()
    if released:
        log.info("%d lottery slot(s) released to the second round", released)


def jobs() -> list[Job]:
    return [
        Job("booking-expiry", config.BOOKING_EXPIRY_SECONDS.value(), expire_bookings),
        Job("lottery-release", config.LOTTERY_RELEASE_SECONDS.value(), release_lottery_rounds),
    ]
