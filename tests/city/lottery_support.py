"""Shared set-up for the lottery, staff and counter tests: a lottery facility with slots, residents, a round."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from anchorid.city import login
from anchorid.city.booking import service as booking_service
from anchorid.city.booking.models import CityUser, Facility, Slot
from anchorid.city.lottery import service
from anchorid.city.lottery.models import LotteryRound

#: The round's timetable, relative to one moment: entries open now, close in 10 days, confirm within 5 more.
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DURING = T0 + dt.timedelta(days=1)
AFTER_CLOSE = T0 + dt.timedelta(days=11)
AFTER_CONFIRM = T0 + dt.timedelta(days=16)


def lottery_facility(name: str = "Main hall") -> Facility:
    return Facility.objects.create(name_ja="大ホール", name_en=name, kind=Facility.Kind.HALL, capacity=500,
                                   lottery=True)  # fmt: skip


def make_slots(facility: Facility, count: int, *, start: dt.datetime | None = None, fee: int = 12000) -> list[Slot]:
    first = start or T0 + dt.timedelta(days=40)
    return [
        booking_service.create_slot(
            facility, first + dt.timedelta(hours=3 * i), first + dt.timedelta(hours=3 * i + 2), fee
        )
        for i in range(count)
    ]


def resident(name: str, *, penalty_points: int = 0, sub: str | None = None) -> CityUser:
    return CityUser.objects.create(sub=sub or f"sub-{name}", display_name=name, is_resident=True,
                                   penalty_points=penalty_points)  # fmt: skip


def make_round(slots: list[Slot], **overrides: object) -> LotteryRound:
    values: dict[str, object] = {
        "title_ja": "2027年1月 大ホール抽選",
        "title_en": "Main hall lottery, January 2027",
        "entries_open_at": T0,
        "entries_close_at": T0 + dt.timedelta(days=10),
        "confirm_by": T0 + dt.timedelta(days=15),
        "max_choices": 3,
        "max_entries_per_user": 2,
        "max_wins_per_user": 1,
    }
    values.update(overrides)
    round_ = LotteryRound.objects.create(**values)
    if slots:
        service.add_slots(round_, slots)
    return round_


def open_round(slots: list[Slot], **overrides: object) -> LotteryRound:
    round_ = make_round(slots, **overrides)
    service.commit_seed(round_, now=T0)
    round_.refresh_from_db()
    return round_


def now() -> dt.datetime:
    return timezone.now()


def staff_client(username: str = "clerk", areas: tuple[str, ...] = ("facilities", "lottery", "bookings", "reports",
                 "counter"), *, is_staff: bool = True, enforce_csrf: bool = False) -> Client:  # fmt: skip
    """A browser logged in as a city staff account with the given areas' permissions."""
    account = User.objects.create_user(username, password="correct horse battery", is_staff=is_staff)
    account.user_permissions.set(Permission.objects.filter(content_type__app_label="staff", codename__in=areas))
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(account)
    return client


def logged_in_resident(claims: dict[str, Any]) -> Client:
    client = Client()
    session = client.session
    session[login.LOGIN_KEY] = {"claims": claims, "acr": "", "id_token": "x.y.z", "token": {}}
    session.save()
    return client
