"""The city's booking rules as plain functions of their inputs (no database): booking windows, fees and
reductions, payment deadlines, refund tiers and penalty points. docs/booking.md states them for people.

Dates that depend on the calendar ("7 days before use") are counted in Japan time, as the city counts them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

#: The city's local government code (全国地方公共団体コード): a verified ``resident_of`` equal to it makes a resident.
CITY_CODE = "142042"

#: Non-residents pay this much more than residents (市外料金), in percent of the resident fee.
NON_RESIDENT_SURCHARGE_PERCENT = 50

#: Residents 65 or older (the verified ``age_over_65`` claim) pay less for sports courts (高齢者減免).
SENIOR_COURT_REDUCTION_PERCENT = 50

#: A tentative booking must be paid within this many days, and at the latest this long before use.
PAYMENT_DAYS = 7
PAYMENT_BEFORE_USE = datetime.timedelta(days=1)
#: Booked at short notice: at least this long to pay (but never past the start).
MINIMUM_PAYMENT_TIME = datetime.timedelta(minutes=30)

#: Refund by whole days before the day of use: (at least this many days, percent refunded), checked in order.
REFUND_TIERS: tuple[tuple[int, int], ...] = ((7, 100), (2, 50), (0, 0))

#: Cancelling fewer than this many days before the day of use is late and costs penalty points.
LATE_CANCELLATION_DAYS = 2
LATE_CANCELLATION_POINTS = 1
NO_SHOW_POINTS = 2


def is_resident(claims: dict[str, object]) -> bool:
    return claims.get("resident_of") == CITY_CODE


def window_days(*, resident: bool, resident_days: int, non_resident_days: int) -> int:
    return resident_days if resident else non_resident_days


def in_window(starts_at: datetime.datetime, now: datetime.datetime, days: int) -> bool:
    """A slot may be booked from ``days`` days before its day (from midnight, Japan time) until it starts."""
    if starts_at <= now:
        return False
    opens = datetime.datetime.combine(starts_at.astimezone(JST).date(), datetime.time(), JST)
    opens -= datetime.timedelta(days=days)
    return now >= opens


@dataclass(frozen=True)
class Fee:
    base_yen: int
    surcharge_percent: int
    reduction_percent: int
    reason: str  # "", "group" or "senior"

    @property
    def total_yen(self) -> int:
        """Surcharge first, then the reduction; whole yen, rounded down (in the payer's favour)."""
        with_surcharge = self.base_yen * (100 + self.surcharge_percent) // 100
        return with_surcharge * (100 - self.reduction_percent) // 100


def fee(base_yen: int, *, resident: bool, group_reduction: int | None, senior: bool, court: bool) -> Fee:
    """The fee for one slot. One reduction applies, the larger of an approved group's and the senior one."""
    if base_yen < 0:
        raise ValueError("a fee cannot be negative")
    surcharge = 0 if resident else NON_RESIDENT_SURCHARGE_PERCENT
    reductions = [(0, "")]
    if group_reduction:
        reductions.append((group_reduction, "group"))
    if senior and resident and court:
        reductions.append((SENIOR_COURT_REDUCTION_PERCENT, "senior"))
    percent, reason = max(reductions)
    return Fee(base_yen, surcharge, percent, reason)


def payment_deadline(now: datetime.datetime, starts_at: datetime.datetime) -> datetime.datetime:
    deadline = min(now + datetime.timedelta(days=PAYMENT_DAYS), starts_at - PAYMENT_BEFORE_USE)
    if deadline < now + MINIMUM_PAYMENT_TIME:
        deadline = min(now + MINIMUM_PAYMENT_TIME, starts_at)
    return deadline


def days_before_use(now: datetime.datetime, starts_at: datetime.datetime) -> int:
    """Whole calendar days from today to the day of use, in Japan time (0 on the day itself)."""
    return (starts_at.astimezone(JST).date() - now.astimezone(JST).date()).days


def refund_percent(days_before: int) -> int:
    for at_least, percent in REFUND_TIERS:
        if days_before >= at_least:
            return percent
    return 0


def refund_yen(paid_yen: int, days_before: int) -> int:
    return paid_yen * refund_percent(days_before) // 100


def late_cancellation_points(days_before: int) -> int:
    return LATE_CANCELLATION_POINTS if days_before < LATE_CANCELLATION_DAYS else 0


def closed_on(day: datetime.date) -> bool:
    """The city's facilities close over the New Year, 29 December to 3 January (the notice residents see): no slot
    is offered, booked or drawn by lottery on these days."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)
