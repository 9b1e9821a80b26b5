"""The lottery's public and resident pages: the round page before and after the draw, entering with ranked
choices through the form, refusals shown as messages with nothing stored, confirming a win, the second round, and
the resident home's lottery block."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from anchorid.city.booking.models import Booking
from anchorid.city.lottery import service
from anchorid.city.lottery.models import Choice, Entry, LotteryRound

from .lottery_support import logged_in_resident, lottery_facility, make_slots

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}
HANAKO = {"sub": "pairwise-hanako", "name": "鎌倉 花子", "resident_of": "142042"}


def live_round(slot_count: int = 3, **values: object) -> tuple[LotteryRound, list[int]]:
    now = timezone.now()
    slots = make_slots(lottery_facility(), slot_count, start=now + dt.timedelta(days=40))
    round_ = LotteryRound.objects.create(title_ja="大ホール抽選", title_en="Main hall lottery",
                                         entries_open_at=now - dt.timedelta(hours=1),
                                         entries_close_at=now + dt.timedelta(days=1),
                                         confirm_by=now + dt.timedelta(days=2), **values)  # fmt: skip
    service.add_slots(round_, slots)
    service.commit_seed(round_)
    round_.refresh_from_db()
    return round_, [slot.pk for slot in slots]


def test_it_hides_a_round_until_its_seed_is_committed() -> None:
    now = timezone.now()
    draft = LotteryRound.objects.create(title_ja="下書き", title_en="Draft", entries_open_at=now,
                                        entries_close_at=now + dt.timedelta(days=1),
                                        confirm_by=now + dt.timedelta(days=2))  # fmt: skip
    assert Client().get(f"/lottery/{draft.pk}/").status_code == 404
    assert Client().get(f"/lottery/{draft.pk}/audit.json").status_code == 404
    assert "下書き" not in Client().get("/lottery/").content.decode()


def test_it_shows_the_commitment_in_japanese_and_english() -> None:
    round_, _ = live_round()
    body = Client().get(f"/lottery/{round_.pk}/").content.decode()
    assert "シードのハッシュ" in body
    assert f'<code id="seed-commitment">{round_.seed_commitment}</code>' in body
    assert 'id="seed"' not in body
    assert "Seed fingerprint" in Client().get(f"/lottery/{round_.pk}/", headers=EN).content.decode()
    document = Client().get(f"/lottery/{round_.pk}/audit.json").json()
    assert document["seed_commitment"] == round_.seed_commitment
    assert document["seed"] is None


def test_it_takes_an_entry_with_ranked_choices() -> None:
    round_, slots = live_round()
    browser = logged_in_resident(HANAKO)
    page = browser.get(f"/lottery/{round_.pk}/").content.decode()
    assert 'id="entry-form"' in page
    assert '<label for="choice_1">' in page
    browser.post(f"/lottery/{round_.pk}/enter/", {"choice_1": slots[2], "choice_2": "", "choice_3": slots[0]})
    entry = Entry.objects.get()
    assert [c.round_slot.slot_id for c in entry.choices.all()] == [slots[2], slots[0]]
    assert entry.public_id in browser.get("/").content.decode()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"choice_1": "999999"}, "does not exist in this round"),
        ({"choice_1": "'; DROP TABLE lottery_entry; --"}, "does not exist in this round"),
        ({"choice_1": ""}, "Choose at least one slot"),
        ({"choice_x": "1"}, "not understood"),
    ],
)
def test_it_refuses_bad_entries_with_a_message(form: dict[str, str], message: str) -> None:
    round_, _ = live_round()
    response = logged_in_resident(HANAKO).post(f"/lottery/{round_.pk}/enter/", form, follow=True, headers=EN)
    assert message in response.content.decode()
    assert not Entry.objects.exists()
    assert not Choice.objects.exists()


def test_it_refuses_more_choices_than_the_round_allows_through_the_form() -> None:
    round_, slots = live_round(max_choices=2)
    form = {f"choice_{rank}": str(slot) for rank, slot in enumerate(slots, 1)}
    response = logged_in_resident(HANAKO).post(f"/lottery/{round_.pk}/enter/", form, follow=True, headers=EN)
    assert "at most 2 choices" in response.content.decode()
    assert not Entry.objects.exists()


def test_it_sends_a_visitor_to_log_in_before_entering() -> None:
    round_, slots = live_round()
    response = Client().post(f"/lottery/{round_.pk}/enter/", {"choice_1": slots[0]})
    assert response["Location"] == "/"
    assert not Entry.objects.exists()


def test_it_lets_the_winner_take_the_slot_and_no_one_else() -> None:
    round_, slots = live_round(slot_count=1)
    browser = logged_in_resident(HANAKO)
    browser.post(f"/lottery/{round_.pk}/enter/", {"choice_1": slots[0]})
    later = timezone.now() + dt.timedelta(days=1, minutes=1)
    service.close_entries(round_, now=later)
    service.run_draw(round_, now=later)
    entry = Entry.objects.get()
    page = browser.get(f"/lottery/{round_.pk}/").content.decode()
    assert 'data-result="won"' in page
    assert f'id="confirm-{entry.public_id}"' in page
    stranger = logged_in_resident({"sub": "pairwise-stranger", "resident_of": "142042"})
    assert stranger.post(f"/lottery/entries/{entry.public_id}/confirm/").status_code == 404
    response = browser.post(f"/lottery/entries/{entry.public_id}/confirm/")
    entry.refresh_from_db()
    assert entry.booking is not None
    assert response["Location"] == f"/booking/bookings/{entry.booking.reference}/"
    assert entry.booking.status == Booking.Status.TENTATIVE


def test_it_lists_the_second_round_with_a_book_button() -> None:
    round_, slots = live_round(slot_count=2)
    later = timezone.now() + dt.timedelta(days=1, minutes=1)
    service.close_entries(round_, now=later)
    service.run_draw(round_, now=later)
    now = timezone.now()  # time passes: the confirmation deadline is over
    LotteryRound.objects.filter(pk=round_.pk).update(entries_open_at=now - dt.timedelta(hours=3),
                                                     entries_close_at=now - dt.timedelta(hours=2),
                                                     confirm_by=now - dt.timedelta(seconds=1))  # fmt: skip
    browser = logged_in_resident(HANAKO)  # the page itself releases the round once the deadline has passed
    page = browser.get(f"/lottery/{round_.pk}/").content.decode()
    assert 'id="second-round"' in page
    assert f'data-slot="{slots[0]}"' in page
    booked = browser.post("/booking/book/", {"slot": slots[0]})
    assert booked.status_code == 302
    assert Booking.objects.filter(slot_id=slots[0]).exists()
    assert LotteryRound.objects.get(pk=round_.pk).released_at is not None
