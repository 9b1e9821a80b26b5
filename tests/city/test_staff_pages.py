"""Staff pages: login and permissions, CSRF, facilities and slots with validation, fees, lottery runs, bookings,
reports and their CSV export (with formula cells neutralised), Japanese first and English."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from anchorid.city.booking import rules
from anchorid.city.booking import service as booking_service
from anchorid.city.booking.models import Booking, CityUser, Facility, Group, PenaltyRecord, Slot
from anchorid.city.lottery.models import Entry, LotteryRound
from anchorid.city.staff.csv_export import safe_cell, to_csv

from .lottery_support import lottery_facility, make_slots, resident, staff_client

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


def future(days: int, hour: int = 10) -> str:
    day = timezone.now().astimezone(rules.JST).date() + dt.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


def test_it_sends_visitors_to_the_staff_login() -> None:
    response = Client().get("/staff/facilities/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/?next=/staff/facilities/")


def test_it_shows_the_login_page_in_japanese_first() -> None:
    body = Client().get("/staff/login/").content.decode()
    assert "職員ログイン" in body
    assert 'autocomplete="current-password"' in body
    assert "Staff login" in Client().get("/staff/login/", headers=EN).content.decode()


def test_it_logs_in_staff_and_refuses_other_accounts() -> None:
    User.objects.create_user("clerk", password="correct horse battery", is_staff=True)
    User.objects.create_user("resident", password="correct horse battery", is_staff=False)
    ok = Client().post("/staff/login/", {"username": "clerk", "password": "correct horse battery"})
    assert ok.status_code == 302
    refused = Client().post("/staff/login/", {"username": "resident", "password": "correct horse battery"}, headers=EN)
    assert refused.status_code == 200
    assert "not a city staff account" in refused.content.decode()


def test_it_forbids_an_area_without_its_permission() -> None:
    client = staff_client(areas=("bookings",))
    assert client.get("/staff/bookings/").status_code == 200
    assert client.get("/staff/facilities/").status_code == 403
    assert client.get("/staff/counter/").status_code == 403
    assert client.post("/staff/lottery/new/", {}).status_code == 403


def test_it_refuses_a_non_staff_account_even_when_logged_in() -> None:
    client = staff_client(is_staff=False)
    assert client.get("/staff/").status_code == 302


def test_it_requires_the_csrf_token_on_changes() -> None:
    facility = lottery_facility()
    client = staff_client(enforce_csrf=True)
    response = client.post(f"/staff/facilities/{facility.pk}/slots/",
                           {"starts_at": future(50), "ends_at": future(50, 12), "fee_yen": 1000})  # fmt: skip
    assert response.status_code == 403
    assert not Slot.objects.exists()


def test_it_adds_a_facility_and_a_slot() -> None:
    client = staff_client()
    response = client.post("/staff/facilities/new/", {
        "name_ja": "体育館", "name_en": "Gym", "kind": "court", "capacity": 40, "resident_window_days": 60,
        "non_resident_window_days": 30, "is_active": "on"})  # fmt: skip
    facility = Facility.objects.get(name_en="Gym")
    assert response["Location"] == f"/staff/facilities/{facility.pk}/slots/"
    response = client.post(f"/staff/facilities/{facility.pk}/slots/",
                           {"starts_at": future(20), "ends_at": future(20, 12), "fee_yen": 2400})  # fmt: skip
    assert response.status_code == 302
    slot = Slot.objects.get(facility=facility)
    assert slot.fee_yen == 2400
    assert slot.starts_at.astimezone(rules.JST).hour == 10


def test_it_refuses_windows_that_favour_non_residents() -> None:
    response = staff_client().post("/staff/facilities/new/", {
        "name_ja": "体育館", "name_en": "Gym", "kind": "court", "capacity": 40, "resident_window_days": 30,
        "non_resident_window_days": 60}, headers=EN)  # fmt: skip
    assert response.status_code == 400
    assert "at least as far ahead" in response.content.decode()
    assert not Facility.objects.exists()


@pytest.mark.parametrize(
    ("starts", "ends", "fee", "message"),
    [
        (future(20, 12), future(20, 10), "1000", "must end after it starts"),
        (future(20, 10), future(20, 10), "1000", "must end after it starts"),
        (future(20, 10), future(20, 12), "-1", "cannot be negative"),
        (future(20, 10), future(20, 12), "abc", "whole number"),
        ("yesterday", future(20, 12), "1000", "valid date"),
    ],
)
def test_it_refuses_bad_slots_and_stores_nothing(starts: str, ends: str, fee: str, message: str) -> None:
    facility = lottery_facility()
    response = staff_client().post(f"/staff/facilities/{facility.pk}/slots/",
                                   {"starts_at": starts, "ends_at": ends, "fee_yen": fee}, headers=EN)  # fmt: skip
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Slot.objects.exists()


def test_it_refuses_an_overlapping_slot() -> None:
    facility = lottery_facility()
    client = staff_client()
    client.post(f"/staff/facilities/{facility.pk}/slots/", {"starts_at": future(20, 10), "ends_at": future(20, 12),
                                                             "fee_yen": 1000})  # fmt: skip
    overlapping = {"starts_at": future(20, 11), "ends_at": future(20, 13), "fee_yen": 1000}
    response = client.post(f"/staff/facilities/{facility.pk}/slots/", overlapping, headers=EN)
    assert response.status_code == 400
    assert "overlaps another slot" in response.content.decode()
    assert Slot.objects.count() == 1
    touching = client.post(f"/staff/facilities/{facility.pk}/slots/",
                           {"starts_at": future(20, 12), "ends_at": future(20, 14), "fee_yen": 1000})  # fmt: skip
    assert touching.status_code == 302
    assert Slot.objects.count() == 2


def test_it_changes_a_fee_but_never_to_a_negative_one() -> None:
    slot = make_slots(lottery_facility(), 1)[0]
    client = staff_client()
    client.post(f"/staff/slots/{slot.pk}/fee/", {"fee_yen": "-500"})
    slot.refresh_from_db()
    assert slot.fee_yen == 12000
    client.post(f"/staff/slots/{slot.pk}/fee/", {"fee_yen": "9000"})
    slot.refresh_from_db()
    assert slot.fee_yen == 9000


def test_it_approves_a_group_reduction_within_0_to_100() -> None:
    group = Group.objects.create(name="鎌倉卓球クラブ", representative=resident("rep"))
    client = staff_client()
    bad = client.post("/staff/fees/", {"group": group.pk, "reduction_approved": "on", "reduction_percent": 150})
    assert bad.status_code == 400
    group.refresh_from_db()
    assert not group.reduction_approved
    client.post("/staff/fees/", {"group": group.pk, "reduction_approved": "on", "reduction_percent": 50})
    group.refresh_from_db()
    assert group.reduction_approved
    assert group.reduction_percent == 50
    assert client.post("/staff/fees/", {"group": "x", "reduction_percent": 10}).status_code == 404


def test_it_runs_a_lottery_round_from_the_staff_pages() -> None:
    slots = make_slots(lottery_facility(), 2, start=timezone.now() + dt.timedelta(days=40))
    client = staff_client()
    now = timezone.now().astimezone(rules.JST)
    response = client.post("/staff/lottery/new/", {
        "title_ja": "1月抽選", "title_en": "January lottery",
        "entries_open_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "entries_close_at": (now + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "confirm_by": (now + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "max_choices": 2, "max_entries_per_user": 1, "max_wins_per_user": 1, "penalty_block_points": 3,
        "slots": [slot.pk for slot in slots]})  # fmt: skip
    round_ = LotteryRound.objects.get()
    assert response["Location"] == f"/staff/lottery/{round_.pk}/"
    client.post(f"/staff/lottery/{round_.pk}/commit/")
    round_.refresh_from_db()
    assert len(round_.seed_commitment) == 64
    page = Client().get(f"/lottery/{round_.pk}/").content.decode()
    assert round_.seed_commitment in page
    assert round_.seed_hex not in page
    early = client.post(f"/staff/lottery/{round_.pk}/close/", follow=True, headers=EN)
    assert "has not ended" in early.content.decode()
    LotteryRound.objects.filter(pk=round_.pk).update(entries_close_at=timezone.now() - dt.timedelta(minutes=1))
    client.post(f"/staff/lottery/{round_.pk}/close/")
    client.post(f"/staff/lottery/{round_.pk}/draw/")
    round_.refresh_from_db()
    assert round_.phase == "drawn"
    assert round_.seed_hex in Client().get(f"/lottery/{round_.pk}/").content.decode()
    assert client.post(f"/staff/lottery/{round_.pk}/explode/").status_code == 404


def test_it_refuses_a_round_with_reversed_periods() -> None:
    slots = make_slots(lottery_facility(), 1, start=timezone.now() + dt.timedelta(days=40))
    now = timezone.now().astimezone(rules.JST)
    response = staff_client().post("/staff/lottery/new/", {
        "title_ja": "抽選", "title_en": "Lottery",
        "entries_open_at": (now + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "entries_close_at": now.strftime("%Y-%m-%dT%H:%M"),
        "confirm_by": (now + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "max_choices": 9, "max_entries_per_user": 1, "max_wins_per_user": 1, "penalty_block_points": 3,
        "slots": [slots[0].pk]}, headers=EN)  # fmt: skip
    assert response.status_code == 400
    body = response.content.decode()
    assert "close after they open" in body
    assert "Between 1 and 8 choices" in body
    assert not LotteryRound.objects.exists()


def paid_booking(user: CityUser, *, days_ago: int = 1) -> Booking:
    facility = Facility.objects.create(name_ja="会議室", name_en="Room", kind="room", capacity=10)
    starts = timezone.now() + dt.timedelta(days=3)
    slot = booking_service.create_slot(facility, starts, starts + dt.timedelta(hours=2), 0)
    booking = booking_service.book(user, slot)
    assert booking.status == Booking.Status.CONFIRMED
    began = timezone.now() - dt.timedelta(days=days_ago)
    Slot.objects.filter(pk=slot.pk).update(starts_at=began, ends_at=began + dt.timedelta(hours=2))
    return booking


def test_it_finds_bookings_and_marks_a_no_show_with_penalty_points() -> None:
    booking = paid_booking(resident("absent"))
    client = staff_client()
    found = client.get("/staff/bookings/", {"q": booking.reference}).content.decode()
    assert f'data-booking="{booking.reference}"' in found
    assert client.get("/staff/bookings/", {"q": "absent"}).content.decode().count("data-booking=") == 1
    client.post(f"/staff/bookings/{booking.reference}/no_show/")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.NO_SHOW
    assert PenaltyRecord.objects.get(booking=booking).points == rules.NO_SHOW_POINTS
    again = client.post(f"/staff/bookings/{booking.reference}/used/", follow=True, headers=EN)
    assert "Only a paid booking" in again.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.NO_SHOW


def test_it_reports_use_and_exports_csv_with_formulas_neutralised() -> None:
    booking = paid_booking(resident('=HYPERLINK("http://evil.example","click")'))
    client = staff_client()
    day = Slot.objects.get(pk=booking.slot_id).starts_at.astimezone(rules.JST).date().isoformat()
    page = client.get("/staff/reports/", {"date_from": day, "date_to": day}, headers=EN).content.decode()
    assert 'id="usage"' in page
    exported = client.get("/staff/reports/", {"date_from": day, "date_to": day, "csv": "bookings"})
    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    text = exported.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][0] == "reference"
    assert rows[1][4] == '\'=HYPERLINK("http://evil.example","click")'
    usage = client.get("/staff/reports/", {"date_from": day, "date_to": day, "csv": "usage"}).content.decode()
    assert "会議室" in usage


def test_it_refuses_a_reversed_report_period() -> None:
    response = staff_client().get("/staff/reports/", {"date_from": "2026-12-10", "date_to": "2026-12-01"}, headers=EN)
    assert response.status_code == 400
    assert "end on or after" in response.content.decode()


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_it_prefixes_every_formula_start(value: str) -> None:
    assert safe_cell(value) == "'" + value


def test_it_keeps_numbers_and_plain_text() -> None:
    assert safe_cell(-500) == -500
    assert safe_cell("鎌倉 花子") == "鎌倉 花子"
    assert to_csv(["a"], [["x,y\nz"]]) == '\ufeffa\r\n"x,y\nz"\r\n'


def test_it_lists_entries_on_the_staff_round_page() -> None:
    slots = make_slots(lottery_facility(), 1, start=timezone.now() + dt.timedelta(days=40))
    round_ = LotteryRound.objects.create(title_ja="抽選", title_en="Lottery",
                                         entries_open_at=timezone.now() - dt.timedelta(hours=1),
                                         entries_close_at=timezone.now() + dt.timedelta(days=1),
                                         confirm_by=timezone.now() + dt.timedelta(days=2))  # fmt: skip
    from anchorid.city.lottery import service

    service.add_slots(round_, slots)
    service.commit_seed(round_)
    service.enter(round_, resident("entrant"), [slots[0].pk])
    page = staff_client().get(f"/staff/lottery/{round_.pk}/").content.decode()
    assert Entry.objects.get().public_id in page
