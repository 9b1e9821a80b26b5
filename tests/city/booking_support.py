"""Shared set-up for the booking tests: facilities, slots at fixed times, residents, logged-in browsers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.utils import timezone

from anchorid.city import login
from anchorid.city.booking import rules, service
from anchorid.city.booking.models import CityUser, Facility, Slot

JST = rules.JST


def facility(kind: str = Facility.Kind.HALL, name: str = "Community hall", **values: Any) -> Facility:
    return Facility.objects.create(name_ja="公民館ホール", name_en=name, kind=kind, capacity=100, **values)


def slot_in(days: int, target: Facility, *, hour: int = 10, hours: int = 2, fee: int = 6000) -> Slot:
    """A slot ``days`` days from today (Japan time) at ``hour`` o'clock."""
    day = timezone.now().astimezone(JST).date() + dt.timedelta(days=days)
    starts = dt.datetime.combine(day, dt.time(hour), JST)
    return service.create_slot(target, starts, starts + dt.timedelta(hours=hours), fee)


def resident_claims(sub: str = "pairwise-resident", **more: Any) -> dict[str, Any]:
    return {"sub": sub, "name": "鎌倉 花子", "resident_of": rules.CITY_CODE, **more}


def outsider_claims(sub: str = "pairwise-outsider") -> dict[str, Any]:
    return {"sub": sub, "name": "藤沢 太郎", "resident_of": "142051"}


def user(claims: dict[str, Any]) -> CityUser:
    return service.user_from_claims(claims)


def logged_in(client: Client, claims: dict[str, Any]) -> Client:
    session = client.session
    session[login.LOGIN_KEY] = {"claims": claims, "acr": "", "id_token": "x.y.z", "token": {}}
    session.save()
    return client
