"""Issue 18 §3 at the city: one product in Japanese and English. Each test is one item found by trying the pages as a
new resident (and staff member) would; each failed on the code before the fix."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from anchorid.city.booking import rules
from anchorid.city.booking.demo import seed_facilities
from anchorid.city.booking.models import Booking, Facility, Receipt, Slot
from anchorid.city.lottery import service as lottery_service
from anchorid.city.lottery.models import LotteryRound
from anchorid.city.lottery.service import LotteryError

from .booking_support import facility, logged_in, resident_claims, slot_in
from .lottery_support import lottery_facility, staff_client

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}
SRC = Path(__file__).resolve().parents[2] / "src" / "anchorid"


def text(html: str) -> str:
    """What a reader sees: the page without tags, scripts or attribute values."""
    body = re.sub(r"(?s)<(script|style|title)\b.*?</\1>", " ", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_it_never_shows_a_raw_claim_name_on_the_resident_home(client: Client) -> None:
    claims = resident_claims(age_over_18=True, address="鎌倉市御成町1-1")
    page = text(logged_in(client, claims).get("/").content.decode())
    for name in ("resident_of", "age_over_18", "address", " sub ", " name ", "true"):
        assert name not in f" {page} ", name
    assert "はい" in page  # a boolean claim reads as yes/no


def test_it_formats_every_amount_one_way_per_language(client: Client) -> None:
    hall = facility()
    slot = slot_in(3, hall, fee=6000)
    week = f"/booking/facilities/{hall.pk}/?week={slot.starts_at.astimezone(rules.JST).date()}"
    japanese = text(client.get(week).content.decode())
    english = text(client.get(week, headers=EN).content.decode())
    assert "6,000円" in japanese
    assert "6000" not in japanese
    assert " 円" not in japanese
    assert "¥6,000" in english
    assert "yen" not in english


def test_it_shows_a_week_as_an_availability_grid_with_distinct_booking_names(client: Client) -> None:
    hall = facility()
    slots = [slot_in(days, hall, hour=hour) for days in (2, 3) for hour in (9, 13)]
    first = slots[0].starts_at.astimezone(rules.JST).date() - dt.timedelta(days=1)  # a day with no slot first
    page = logged_in(client, resident_claims()).get(f"/booking/facilities/{hall.pk}/?week={first}").content.decode()
    grid = page[page.index('id="availability"') : page.index("</table>", page.index('id="availability"'))]
    assert grid.count('<th scope="col" data-day=') == 7  # the week header and the grid show the same 7 days
    assert f'data-day="{first}"' in grid
    assert grid.count("○") == 4
    assert "–" in grid  # days without a slot
    names = re.findall(r'class="slot-button">.*?<span class="visually-hidden">(.*?)</span>', grid)
    assert len(names) == 4
    assert len(set(names)) == 4
    assert 'id="next-free"' in page
    assert f"#slot-{slots[0].pk}" in page


def test_it_searches_facilities_by_date_kind_and_capacity_and_offers_the_next_free_slot(client: Client) -> None:
    small = Facility.objects.create(name_ja="小会議室", name_en="Small room", kind="room", capacity=10)
    large = Facility.objects.create(name_ja="大ホール", name_en="Large hall", kind="hall", capacity=200)
    slot = slot_in(5, large)
    page = client.get("/booking/", {"capacity": "100", "date": slot.starts_at.date().isoformat()}, headers=EN)
    body = page.content.decode()
    assert "Large hall" in body
    assert "Small room" not in body
    assert f"#slot-{slot.pk}" in body
    assert small.pk  # listed without the capacity filter
    assert "Small room" in client.get("/booking/", headers=EN).content.decode()


def test_it_shows_a_receipt_without_the_provider_reference_and_a_payment_page_with_its_own_name(
    client: Client,
) -> None:
    resident = logged_in(client, resident_claims())
    slot = slot_in(3, facility())
    booked = resident.post("/booking/book/", {"slot": slot.pk})
    booking = Booking.objects.get(reference=booked["Location"].rstrip("/").rsplit("/", 1)[1])
    to_provider = resident.post(f"/booking/bookings/{booking.reference}/pay/")
    provider_page = resident.get(to_provider["Location"]).content.decode()
    header = provider_page[
        provider_page.index('class="site-title"') : provider_page.index(
            "</p>", provider_page.index('class="site-title"')
        )
    ]
    assert "AnchorID" not in header
    assert "鎌倉市" not in header
    back = resident.post(to_provider["Location"], {"answer": "pay"})
    resident.get(back["Location"])
    receipt = Receipt.objects.get(payment__booking=booking)
    page = text(resident.get(f"/booking/receipts/{receipt.number}/").content.decode())
    assert "sim_" not in page
    assert "simulated" not in page
    assert "オンライン決済" in page


def test_it_offers_no_slot_and_no_lottery_on_the_new_year_closing_days() -> None:
    seed_facilities(weeks=3, today=dt.date(2026, 12, 20))
    days = {slot.starts_at.astimezone(rules.JST).date() for slot in Slot.objects.all()}
    assert not [day for day in days if rules.closed_on(day)]
    hall = lottery_facility()
    on_closed_day = slot_in(1, hall)
    closed = dt.datetime(2026, 12, 30, 10, tzinfo=rules.JST)
    Slot.objects.filter(pk=on_closed_day.pk).update(starts_at=closed, ends_at=closed + dt.timedelta(hours=2))
    now = timezone.now()
    round_ = LotteryRound.objects.create(title_ja="抽選", title_en="Lottery", entries_open_at=now,
                                         entries_close_at=now + dt.timedelta(days=1),
                                         confirm_by=now + dt.timedelta(days=2))  # fmt: skip
    with pytest.raises(LotteryError):
        lottery_service.add_slots(round_, [Slot.objects.get(pk=on_closed_day.pk)])


def test_it_heads_the_staff_facility_column_facility_and_names_facilities_in_the_page_language() -> None:
    facility(name="Community hall")
    client = staff_client()
    japanese = client.get("/staff/facilities/").content.decode()
    head = japanese[japanese.index("<thead>") : japanese.index("</thead>")]
    assert "氏名" not in head
    assert "施設" in head
    english = text(client.get("/staff/facilities/", headers=EN).content.decode())
    assert "Community hall" in english


def test_it_reports_this_week_by_default() -> None:
    page = staff_client().get("/staff/reports/").content.decode()
    today = timezone.now().astimezone(rules.JST).date()
    monday = today - dt.timedelta(days=today.weekday())
    assert f'value="{monday.isoformat()}"' in page
    assert f'value="{(monday + dt.timedelta(days=6)).isoformat()}"' in page


def test_it_titles_pages_with_a_separator(client: Client) -> None:
    title = re.search(r"<title>(.*?)</title>", client.get("/booking/").content.decode(), re.S)
    assert title
    assert " | " in title.group(1)


def test_it_uses_one_word_for_the_payment_method() -> None:
    catalogues = "".join(path.read_text() for path in SRC.glob("city/**/locale/ja/LC_MESSAGES/django.po"))
    assert "支払方法" not in catalogues
    assert "支払い方法" in catalogues


def test_it_ties_staff_form_errors_and_help_to_their_fields_and_announces_them() -> None:
    page = staff_client().post("/staff/facilities/new/", {"name_ja": "", "capacity": "-1"}).content.decode()
    described = dict(re.findall(r'id="(id_\w+)"[^>]*aria-describedby="([^"]+)"', page))
    described.update({i: d for d, i in re.findall(r'aria-describedby="([^"]+)"[^>]*id="(id_\w+)"', page)})
    assert described, page
    for field, ids in described.items():
        for target in ids.split():
            assert f'id="{target}"' in page, (field, target)  # no reference to a missing element
    errors = re.findall(r'<p class="error" role="alert" id="(id_\w+)_error">', page)
    assert errors
    for field in errors:
        assert f"{field}_error" in described.get(field, ""), field


def test_it_shows_the_gender_claim_in_the_page_language(client: Client) -> None:
    logged_in(client, resident_claims(gender="female"))
    japanese = text(client.get("/").content.decode())
    english = text(client.get("/", headers=EN).content.decode())
    assert "女性" in japanese
    assert "female" not in japanese.lower()
    assert "Female" in english
    assert "Gender female" not in english


def test_it_names_the_demo_lottery_round_and_facilities_in_the_page_language() -> None:
    from django import forms
    from django.utils import translation

    from anchorid.city.lottery.demo import seed_lottery_demo
    from anchorid.city.staff.forms import BookingSearchForm, OnBehalfEntryForm

    seed_facilities()
    seed_lottery_demo()
    assert LotteryRound.objects.exists()
    with translation.override("ja"):
        japanese = str(OnBehalfEntryForm()["round"]) + str(BookingSearchForm()["facility"])
    with translation.override("en"):
        english = str(OnBehalfEntryForm()["round"]) + str(BookingSearchForm()["facility"])
    assert "【デモ】" in japanese
    assert "Demo" not in japanese
    assert "Kamakura" not in japanese  # a facility by its Japanese name
    assert "Demo" in english
    assert isinstance(OnBehalfEntryForm.base_fields["round"], forms.ModelChoiceField)
