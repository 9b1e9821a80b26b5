"""Demo data for the lottery and the staff pages: a staff account, a drawn lottery round and one open for entries.

``seed_lottery_demo(origin)`` needs Django set up for ``anchorid.city.settings`` in the city's data folder and the
facilities seeded first (``anchorid.city.booking.demo.seed_facilities``): it takes the future slots the booking
demo holds for the lottery (the lottery-flagged hall, from two weeks ahead), puts them in one round whose entries
opened an hour ago and close in five days (winners confirm within ten days), and commits the round's seed. It also
creates (or resets) the staff account ``staff`` with every staff area and a fresh random password. Returns the
lines to print: the round page, the staff login and the password. Calling it again keeps the round and gives the
staff account a new password.

First, once, it also makes a round that is already drawn, so that ``anchorid city lottery verify ROUND`` has a
published draw to re-run: the three latest lottery slots, entries of synthetic entrants (``抽選 デモ1`` …, no
AnchorID account) made while its entry period ran (three to one days ago), the entry list closed and the draw run
now; the winners' bookings await confirmation like any draw's. Its line names the round:
``lottery round drawn (re-run its draw with anchorid city lottery verify N): ORIGIN/lottery/N/``.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.utils import timezone

from anchorid.city.booking.models import Booking, CityUser, Slot
from anchorid.city.lottery import service
from anchorid.city.lottery.models import LotteryRound
from anchorid.city.staff.cli import AREAS, create_staff

STAFF_USERNAME = "staff"
OPEN_TITLE_EN = "Demo: main hall lottery"
DRAWN_TITLE_EN = "Demo (drawn): main hall lottery"
DRAWN_SLOTS = 3
DRAWN_ENTRANTS = 5
ENTRIES_OPEN_FOR = dt.timedelta(days=5)
CONFIRM_WITHIN = dt.timedelta(days=10)


def seed_lottery_demo(origin: str = "http://localhost:8002") -> list[str]:
    origin = origin.rstrip("/")
    password = secrets.token_urlsafe(12)
    create_staff(STAFF_USERNAME, password, AREAS)
    lines = [f"city staff pages: {origin}/staff/login/  user {STAFF_USERNAME}  password {password}"]
    drawn = LotteryRound.objects.filter(title_en=DRAWN_TITLE_EN).first()
    if drawn is None and not LotteryRound.objects.filter(title_en=OPEN_TITLE_EN).exists():
        drawn = _drawn_round()
    round_ = LotteryRound.objects.filter(title_en=OPEN_TITLE_EN).first()
    if round_ is None:
        round_ = _open_round()
    if round_ is None:
        lines.append("no lottery round: no slots are held for the lottery (seed the facilities first)")
    else:
        lines.append(f"lottery round open for entries: {origin}/lottery/{round_.pk}/ "
                     f"(seed SHA-256 {round_.seed_commitment[:16]}…)")  # fmt: skip
    if drawn is not None:
        lines.append(f"lottery round drawn (re-run its draw with anchorid city lottery verify {drawn.pk}): "
                     f"{origin}/lottery/{drawn.pk}/")  # fmt: skip
    return lines


def _open_round() -> LotteryRound | None:
    now = timezone.now()
    confirm_by = now + CONFIRM_WITHIN
    slots = list(
        Slot.objects.filter(held_for_lottery=True, lottery_slot__isnull=True, facility__lottery=True,
                            starts_at__gt=confirm_by)
        .exclude(bookings__status__in=Booking.ACTIVE)
        .order_by("starts_at")[:200]
    )  # fmt: skip
    if not slots:
        return None
    with transaction.atomic():
        round_ = LotteryRound.objects.create(
            title_ja="【デモ】大ホール 抽選",
            title_en=OPEN_TITLE_EN,
            entries_open_at=now - dt.timedelta(hours=1),
            entries_close_at=now + ENTRIES_OPEN_FOR,
            confirm_by=confirm_by,
            max_choices=3,
            max_entries_per_user=2,
            max_wins_per_user=1,
        )
        service.add_slots(round_, slots)
        service.commit_seed(round_, now=now)
    round_.refresh_from_db()
    return round_


def _drawn_round() -> LotteryRound | None:
    """A round whose entry period ran from three days ago to yesterday, drawn now (see the module's docstring)."""
    now = timezone.now()
    confirm_by = now + CONFIRM_WITHIN
    slots = list(
        Slot.objects.filter(held_for_lottery=True, lottery_slot__isnull=True, facility__lottery=True,
                            starts_at__gt=confirm_by)
        .exclude(bookings__status__in=Booking.ACTIVE)
        .order_by("-starts_at")[:DRAWN_SLOTS]
    )  # fmt: skip
    if len(slots) < DRAWN_SLOTS:
        return None
    opened, closed = now - dt.timedelta(days=3), now - dt.timedelta(days=1)
    ids = [slot.pk for slot in reversed(slots)]
    with transaction.atomic():
        round_ = LotteryRound.objects.create(
            title_ja="【デモ・抽選済み】大ホール 抽選",
            title_en=DRAWN_TITLE_EN,
            entries_open_at=opened,
            entries_close_at=closed,
            confirm_by=confirm_by,
            max_choices=DRAWN_SLOTS,
            max_entries_per_user=1,
            max_wins_per_user=1,
        )
        service.add_slots(round_, slots)
        service.commit_seed(round_, now=opened)
        for number in range(1, DRAWN_ENTRANTS + 1):
            entrant = CityUser.objects.create(display_name=f"抽選 デモ{number}", is_resident=True)
            # Each entrant ranks the slots differently, so the draw has choices to settle.
            ranked = ids[number % DRAWN_SLOTS :] + ids[: number % DRAWN_SLOTS]
            service.enter(round_, entrant, ranked, now=opened + dt.timedelta(hours=number))
        service.close_entries(round_, now=now)
        service.run_draw(round_, now=now)
    round_.refresh_from_db()
    return round_
